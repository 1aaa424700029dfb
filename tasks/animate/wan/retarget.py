"""Wan2.2-Animate's pose retargeting: the driving skeleton, redrawn with the photo's bone lengths.

Reference: Wan-Video/Wan2.2 `wan/modules/animate/preprocess/retarget_pose.py` (`retarget_pose`
without the FLUX-edited poses). Every bone keeps its angle in each driving frame and takes the
photo's length; left and right bones take the longer of the pair, the eye bones their mean, a
foot at most half its shin. The driving body's size ratio to the photo's (nose to ankles, else
nose to hips) scales its travel, and its frame-0 feet (or neck, when a body is not fully seen)
land on the photo's. Keypoints are (…, 20, 3): x, y pixels and a score, in the order of
tasks/render/openpose.py. The official detector never leaves a keypoint out, nor do our sources
(SMPL, MediaPipe), so its repair of missing keypoints is not needed here. On golden keypoints
the output equals the official code's (tests/tasks/animate/wan/test_retarget.py).
"""

from __future__ import annotations

import numpy as np

from tasks.render.openpose import LIMBS

NOSE, NECK, R_ANKLE, L_ANKLE, R_HIP, L_HIP, L_TOE, R_TOE = 0, 1, 10, 13, 8, 11, 18, 19
# Limb indices (into LIMBS) whose ratios are shared: both sides take the larger one.
PAIRED = ((0, 1), (2, 4), (3, 5), (6, 9), (7, 10), (8, 11), (17, 18))
AVERAGED = ((13, 15), (14, 16))  # nose->eye, eye->ear: both sides take the mean
FOOT_OF_SHIN = ((18, 8), (17, 11))  # (foot limb, shin limb): foot <= 0.5 shin
HEIGHT_SCORE = 0.5  # keypoints used for the body height must score above this
BODY_SCORE = 0.4  # ...and for telling a full body from a half one


def _lengths(keypoints: np.ndarray) -> np.ndarray:
    """Bone lengths (…, 19) in pixels."""
    parents, children = np.array(LIMBS).T
    return np.linalg.norm(keypoints[..., children, :2] - keypoints[..., parents, :2], axis=-1)


def _height(keypoints: np.ndarray, lower: tuple[int, int]) -> float | None:
    """Vertical distance from the nose to the midpoint of `lower`, if all three are seen."""
    if (keypoints[[NOSE, *lower], 2] <= HEIGHT_SCORE).any():
        return None
    return abs(keypoints[list(lower), 1].mean() - keypoints[NOSE, 1])


def body_scale(
    driving: np.ndarray, photo: np.ndarray, driving_size: tuple, photo_size: tuple
) -> float:
    """Driving body size / photo body size: nose-to-ankles, else nose-to-hips, else the frames'."""
    for lower in ((R_ANKLE, L_ANKLE), (R_HIP, L_HIP)):
        src, dst = _height(driving, lower), _height(photo, lower)
        if src is not None and dst is not None and dst > 0:
            return src / dst
    return float(np.sqrt(np.prod(driving_size) / np.prod(photo_size)))


def _is_full_body(keypoints: np.ndarray, height: float) -> bool:
    """Both hips and ankles seen and within the frame's bottom."""
    points = keypoints[[R_ANKLE, L_ANKLE, R_HIP, L_HIP]]
    return bool((points[:, 1] <= height).all() and (points[:, 2] >= BODY_SCORE).all())


def bone_ratios(driving: np.ndarray, photo: np.ndarray, scale: float) -> np.ndarray:
    """(19,) photo bone / driving bone, in the driving body's scale, symmetrised."""
    ratios = _lengths(photo) * scale / np.maximum(_lengths(driving), 1e-6)
    for a, b in PAIRED:
        ratios[[a, b]] = max(ratios[a], ratios[b])
    for a, b in AVERAGED:
        ratios[[a, b]] = (ratios[a] + ratios[b]) / 2
    return ratios


def rescale_bones(keypoints: np.ndarray, ratios: np.ndarray, clamp_feet: bool) -> np.ndarray:
    """Each bone of keypoints (T, 20, 3) scaled by its ratio from its (already moved) parent,
    neck first; scores are kept."""
    lengths = _lengths(keypoints) * ratios
    if clamp_feet:
        for foot, shin in FOOT_OF_SHIN:
            lengths[:, foot] = np.minimum(lengths[:, foot], 0.5 * lengths[:, shin])
    out = keypoints.copy()
    for limb, (parent, child) in enumerate(LIMBS):
        direction = keypoints[:, child, :2] - keypoints[:, parent, :2]
        norm = np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
        out[:, child, :2] = out[:, parent, :2] + direction / norm * lengths[:, limb, None]
    return out


def _ground(keypoints: np.ndarray, with_toes: bool) -> np.ndarray:
    """(x, y): the hips' middle x and the lowest ankle (or ankle-toe midpoint) y."""
    x = keypoints[[R_HIP, L_HIP], 0].mean()
    if with_toes:
        y = max((keypoints[R_ANKLE, 1] + keypoints[R_TOE, 1]) / 2,
                (keypoints[L_ANKLE, 1] + keypoints[L_TOE, 1]) / 2)  # fmt: skip
    else:
        y = keypoints[[R_ANKLE, L_ANKLE], 1].max()
    return np.array([x, y])


def retarget(
    driving: np.ndarray, photo: np.ndarray, driving_size: tuple, photo_size: tuple
) -> np.ndarray:
    """Driving keypoints (T, 20, 3) in a driving frame of driving_size (H, W), redrawn with the
    bones of photo (20, 3) in its frame of photo_size (H, W): (T, 20, 3) photo pixels."""
    first = driving[0]
    scale = body_scale(first, photo, driving_size, photo_size)
    photo_scaled = photo.copy()
    # The photo's frame scaled to whole pixels first, as the official code scales it (bones
    # differ from `scale` x by under a pixel; kept for equal output).
    photo_scaled[:, :2] *= np.array([int(photo_size[1] * scale), int(photo_size[0] * scale)])
    photo_scaled[:, :2] /= np.array([photo_size[1], photo_size[0]])
    ratios = bone_ratios(first, photo_scaled, 1.0)
    moved = rescale_bones(driving, ratios, clamp_feet=True)
    first_moved = rescale_bones(first[None], ratios, clamp_feet=False)[0]
    full = _is_full_body(first, driving_size[0]) and _is_full_body(photo, photo_size[0])
    if full:
        offset = _ground(first_moved, False) - _ground(photo_scaled, True)
    else:
        offset = first_moved[NECK, :2] - photo_scaled[NECK, :2]
    moved[..., :2] = (moved[..., :2] - offset) / scale
    return moved
