"""The reference photo's skeleton in the 20 keypoints of tasks/render/openpose.py.

Wan2.2-Animate's preprocessing detects the photo's pose with a whole-body detector; here
MediaPipe Pose (the cutout animator's pose model, bundled in its wheel) reads the same joints
from a window around the chosen face. Without it, or when it finds no one there, the frame-0
driving pose laid over the photo by the align stage stands in (no retargeting then).
"""

from __future__ import annotations

import logging

import numpy as np

from tasks.animate.cutout.reference import mediapipe_pose, pose_window

log = logging.getLogger(__name__)

POSE_WINDOW = 12  # face widths around the chosen face the pose model sees
# Keypoint (openpose.KEYPOINTS order) <- MediaPipe Pose landmark(s), averaged; MediaPipe's
# "left" is the person's left, as OpenPose's is.
FROM_MEDIAPIPE = (
    (0,), (11, 12), (12,), (14,), (16,), (11,), (13,), (15,), (24,), (26,), (28,), (23,), (25,),
    (27,), (5,), (2,), (8,), (7,), (31,), (32,),
)  # fmt: skip


def keypoints_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """(20, 3) keypoints from MediaPipe's (33, 3) [x px, y px, visibility] landmarks."""
    return np.stack(
        [
            np.r_[landmarks[list(ids), :2].mean(axis=0), landmarks[list(ids), 2].min()]
            for ids in FROM_MEDIAPIPE
        ]
    ).astype(np.float32)


def photo_keypoints(
    image: np.ndarray, face_box: list, photo_box: list | None, other_faces: list
) -> np.ndarray | None:
    """(20, 3) keypoints of the person whose face is face_box [top, right, bottom, left], or
    None when the pose model finds no one whose nose lies in that face box."""
    height, width = image.shape[:2]
    box = tuple(photo_box) if photo_box is not None else (0, width, height, 0)
    window = pose_window(tuple(face_box), box, [tuple(f) for f in other_faces], POSE_WINDOW)
    _, landmarks = mediapipe_pose(image, window)
    if landmarks is None:
        return None
    top, right, bottom, left = face_box
    x, y = landmarks[0, :2]
    if not (left <= x <= right and top <= y <= bottom):
        log.info("the pose model found someone else than the chosen face; not retargeting")
        return None
    return keypoints_from_landmarks(landmarks)
