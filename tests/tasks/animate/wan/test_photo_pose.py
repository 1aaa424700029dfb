"""MediaPipe's 33 landmarks -> the 20 OpenPose-style keypoints of the drawing."""

import numpy as np

from tasks.animate.wan.photo_pose import keypoints_from_landmarks
from tasks.render.openpose import KEYPOINTS


def test_landmarks_map_to_the_same_body_parts():
    landmarks = np.c_[np.arange(33) * 10.0, np.arange(33) * 20.0, np.linspace(0.2, 1, 33)]
    keypoints = keypoints_from_landmarks(landmarks)
    assert keypoints.shape == (20, 3) and keypoints.dtype == np.float32
    by_name = dict(zip(KEYPOINTS, keypoints, strict=True))
    # MediaPipe: 0 nose, 2/5 left/right eye, 7/8 ears, 11/12 shoulders, 15/16 wrists, 23/24 hips,
    # 27/28 ankles, 31/32 foot index (big toe side); even = the person's right.
    for name, landmark in [("nose", 0), ("left_eye", 2), ("right_eye", 5), ("right_ear", 8),
                           ("right_wrist", 16), ("left_hip", 23), ("right_ankle", 28),
                           ("left_toe", 31), ("right_toe", 32)]:  # fmt: skip
        np.testing.assert_allclose(by_name[name], landmarks[landmark], rtol=1e-6)
    # The neck is between the shoulders and only as visible as the less visible one.
    np.testing.assert_allclose(by_name["neck"][:2], landmarks[[11, 12], :2].mean(axis=0))
    assert by_name["neck"][2] == np.float32(landmarks[11, 2])
