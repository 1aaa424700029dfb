"""Driving data for the cutout tests: a stick figure laid over scikit-image's astronaut photo.

The figure stands where the photo's body is (as the align stage would place the driving video),
then swings its arms, sways and tilts its head over 16 frames. Parts use DensePose indices.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 256
FRAMES = 16
FACE_BOX = (41, 132, 84, 88)  # face_recognition's box of the astronaut at 256 px (t, r, b, l)
# Joints (24, 2) at 512 px over the photo's body; legs run below the frame (waist-up photo).
REST_512 = np.array(
    [
        [205, 470], [250, 480], [160, 480], [205, 420], [255, 650], [155, 650], [205, 360],
        [255, 800], [155, 800], [205, 300], [265, 830], [145, 830], [210, 215], [240, 225],
        [175, 225], [215, 150], [300, 250], [115, 245], [325, 370], [70, 400], [350, 450],
        [40, 500], [355, 480], [30, 530],
    ],
    dtype=np.float64,
)  # fmt: skip
# (start joint, end joint, DensePose part, thickness at 512 px)
LIMBS = (
    (16, 18, 15, 70), (18, 20, 21, 60), (20, 22, 4, 50), (17, 19, 16, 70), (19, 21, 22, 60),
    (21, 23, 3, 50), (1, 4, 10, 90), (4, 7, 14, 70), (7, 10, 5, 50), (2, 5, 9, 90),
    (5, 8, 13, 70), (8, 11, 6, 50),
)  # fmt: skip
LEFT_ARM, RIGHT_ARM = (18, 20, 22), (19, 21, 23)


def _rotate(points: np.ndarray, pivot: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return (points - pivot) @ np.array([[c, s], [-s, c]]) + pivot


def pose(t: int) -> np.ndarray:
    """Joints (24, 2) at SIZE px for frame t: arms swing, the body sways, the head tilts."""
    joints = REST_512.copy()
    swing = 0.7 * np.sin(2 * np.pi * t / FRAMES)
    joints[list(LEFT_ARM)] = _rotate(joints[list(LEFT_ARM)], joints[16], -swing)
    joints[list(RIGHT_ARM)] = _rotate(joints[list(RIGHT_ARM)], joints[17], -swing)
    joints[[20, 22]] = _rotate(joints[[20, 22]], joints[18], 0.5 * swing)
    joints[[15]] = _rotate(joints[[15]], joints[12], 0.1 * swing)
    joints[:, 0] += 12 * np.sin(2 * np.pi * t / FRAMES)
    return joints * SIZE / 512


def part_map(joints: np.ndarray) -> np.ndarray:
    """(SIZE, SIZE) uint8 DensePose parts drawn from joints (24, 2): torso, limbs, then head."""
    parts = np.zeros((SIZE, SIZE), dtype=np.uint8)
    scale = SIZE / 512
    torso = joints[[16, 17, 2, 1]].round().astype(np.int32)
    cv2.fillConvexPoly(parts, torso, 2)
    for start, end, part, thickness in LIMBS:
        a, b = joints[start].round().astype(int), joints[end].round().astype(int)
        cv2.line(parts, tuple(a), tuple(b), part, max(1, round(thickness * scale)))
    neck, head = joints[12], joints[15]
    axes = (round(46 * scale), round(64 * scale))
    angle = np.degrees(np.arctan2(head[0] - neck[0], neck[1] - head[1]))
    centre = tuple((head - (0, 10 * scale)).round().astype(int))
    cv2.ellipse(parts, centre, axes, -angle, 0, 360, 23, -1)
    right_half = (parts == 23) & (np.arange(SIZE)[None, :] > head[0])
    parts[right_half] = 24
    return parts


# A small T-pose (arms along x, pixels) for the bone and mesh unit tests.
T_POSE_JOINTS = np.array(
    [
        [100, 200], [120, 205], [80, 205], [100, 180], [120, 260], [80, 260], [100, 160],
        [120, 310], [80, 310], [100, 140], [125, 320], [75, 320], [100, 110], [110, 112],
        [90, 112], [100, 90], [130, 115], [70, 115], [160, 115], [40, 115], [190, 115],
        [10, 115], [200, 115], [0, 115],
    ],
    dtype=np.float64,
)  # fmt: skip
T_POSE_FACE = (75, 112, 100, 88)  # (t, r, b, l) around the head of T_POSE_JOINTS
