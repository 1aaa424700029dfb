"""Retargeting keeps the photo's bone lengths and the driving bones' angles (Wan2.2's rule)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tasks.animate.wan.retarget import retarget
from tasks.render.openpose import LIMBS

# A front-facing standing skeleton (x, y pixels) in the order of tasks.render.openpose.KEYPOINTS.
STAND = np.array([
    [256, 100], [256, 150], [216, 152], [200, 220], [196, 285], [296, 152], [312, 220],
    [316, 285], [232, 290], [228, 380], [226, 465], [280, 290], [284, 380], [286, 465],
    [248, 92], [264, 92], [238, 98], [274, 98], [296, 478], [216, 478],
], dtype=float)  # fmt: skip


def _bones(keypoints: np.ndarray) -> np.ndarray:
    parents, children = np.array(LIMBS).T
    return keypoints[..., children, :2] - keypoints[..., parents, :2]


def _rotate_about(points, centre, angle):
    c, s = np.cos(angle), np.sin(angle)
    return centre + (points - centre) @ np.array([[c, s], [-s, c]])


def _driving(frames: int = 6) -> np.ndarray:
    """A 512 x 512 driving clip: arms swing in the image plane while the body walks right."""
    out = np.repeat(np.c_[STAND, np.ones(20)][None], frames, axis=0)
    for t in range(frames):
        for shoulder, arm in ((2, [3, 4]), (5, [6, 7])):
            out[t, arm, :2] = _rotate_about(out[t, arm, :2], out[t, shoulder, :2], 0.3 * t)
        out[t, :, 0] += 5 * t
    return out


def _photo() -> np.ndarray:
    """A smaller person (0.8x) with longer shins and shorter arms, in a 640 x 480 photo."""
    photo = STAND * 0.8 + [20, 60]
    photo[[9, 12], 1] -= 10  # knees up: longer shins, shorter thighs
    photo[[4, 7], 1] -= 12  # shorter forearms
    return np.c_[photo, np.ones(20)]


def test_bones_take_the_photos_lengths_and_the_driving_angles():
    driving, photo = _driving(), _photo()
    out = retarget(driving, photo, (512, 512), (640, 480))
    lengths = np.linalg.norm(_bones(out), axis=-1)
    expected = np.linalg.norm(_bones(photo), axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(expected, lengths.shape), rtol=1e-6)
    unit = _bones(out) / lengths[..., None]
    driving_bones = _bones(driving)
    driving_unit = driving_bones / np.linalg.norm(driving_bones, axis=-1, keepdims=True)
    np.testing.assert_allclose(unit, driving_unit, atol=1e-9)
    np.testing.assert_array_equal(out[..., 2], driving[..., 2])  # scores kept


def test_frame_zero_stands_on_the_photos_feet():
    driving, photo = _driving(), _photo()
    out = retarget(driving, photo, (512, 512), (640, 480))
    hips = [8, 11]
    np.testing.assert_allclose(out[0, hips, 0].mean(), photo[hips, 0].mean(), atol=1e-9)
    ground = max((photo[10, 1] + photo[19, 1]) / 2, (photo[13, 1] + photo[18, 1]) / 2)
    np.testing.assert_allclose(out[0, [10, 13], 1].max(), ground, atol=1e-9)
    # The walk is scaled by the body-size ratio (driving / photo heights: 1 / 0.8 -> 0.8x).
    np.testing.assert_allclose(out[5, 1, 0] - out[0, 1, 0], 25 * 0.8, rtol=1e-3)


def test_foreshortened_bones_keep_their_ratio_and_a_half_body_hangs_at_the_neck():
    driving, photo = _driving(), _photo()
    driving[3, 3, :2] = driving[3, 2, :2] + 0.5 * (driving[3, 3, :2] - driving[3, 2, :2])
    photo[[10, 13, 18, 19], 2] = 0.0  # the photo shows no feet: half body
    out = retarget(driving, photo, (512, 512), (640, 480))
    upper_arm = np.linalg.norm(out[3, 3, :2] - out[3, 2, :2])
    assert np.isclose(upper_arm, 0.5 * np.linalg.norm(photo[3, :2] - photo[2, :2]), rtol=1e-6)
    np.testing.assert_allclose(out[0, 1, :2], photo[1, :2], atol=1e-9)


GOLDEN = json.loads((Path(__file__).parent / "retarget_golden.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda case: case["name"])
def test_equals_the_official_retarget(case):
    """Wan2.2's own get_retarget_pose on the same keypoints (a render clip and a photo read by
    MediaPipe among them) gave these positions (see retarget_golden.json's source)."""
    out = retarget(
        np.array(case["driving"]),
        np.array(case["photo"]),
        tuple(case["driving_size"]),
        tuple(case["photo_size"]),
    )
    np.testing.assert_allclose(out, np.array(case["official"]), atol=1e-3)
