"""OpenPose-style pose images, drawn exactly as Wan2.2-Animate's preprocessing draws them.

Reference: Wan-Video/Wan2.2 `wan/modules/animate/preprocess/human_visualization.py`
(`draw_aapose_new` with stickwidth 'v2' for the body, `draw_handpose_new` for the hands), the
drawing behind its `src_pose.mp4`. The 20 body keypoints are OpenPose's 18 (COCO order remapped,
neck between the shoulders) plus the two big toes; pixels and rounding match the official code
(tests/tasks/render/test_openpose.py compares against images made by it). Arrays in, arrays out,
so any animator that takes OpenPose-style conditioning can reuse it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

KEYPOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_toe",
    "right_toe",
)  # fmt: skip
# Bones as (parent, child) keypoint indices, drawn in this order with COLORS[i].
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (13, 18), (10, 19),
)  # fmt: skip
# RGB; bones take 0.6 of their colour, keypoint dots the full colour.
COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
    (200, 200, 0), (100, 100, 0),
)  # fmt: skip
HEAD = (0, 14, 15, 16, 17)  # nose, eyes, ears
HAND_EDGES = tuple((0 if i % 4 == 0 else i, i + 1) for i in range(20))  # wrist -> 5 fingers
THRESHOLD = 0.5  # keypoint score below which nothing is drawn (official default)


def stick_width(height: int, width: int) -> int:
    """Bone half-thickness and dot radius, pixels ('v2': one less than min side / 200)."""
    return max(int(min(height, width) / 200) - 1, 1)


def _hand_color(edge: int) -> tuple[float, float, float]:
    """HSV hue wheel over the 20 hand edges at full saturation and value, as RGB 0..255."""
    return tuple(float(c) * 255 for c in _hsv_to_rgb(edge / len(HAND_EDGES)))


def _hsv_to_rgb(hue: float) -> tuple[float, float, float]:
    """matplotlib.colors.hsv_to_rgb at s = v = 1 with its float arithmetic (t = 1 - (1 - f), not
    f), so colours round to the same bytes as the official code's."""
    i = int(hue * 6.0)
    f = hue * 6.0 - i
    q, t = 1.0 - f, 1.0 - (1.0 - f)
    return ((1.0, t, 0.0), (q, 1.0, 0.0), (0.0, 1.0, t), (0.0, q, 1.0), (t, 0.0, 1.0),
            (1.0, 0.0, q))[i % 6]  # fmt: skip


def draw_body(canvas: np.ndarray, keypoints: np.ndarray, threshold: float = THRESHOLD) -> None:
    """Bones as filled ellipses, then keypoint dots, onto canvas (H, W, 3) uint8 in place.

    keypoints (20, 3): x, y pixels and a score; a bone needs both ends at or above threshold.
    """
    height, width = canvas.shape[:2]
    stick = stick_width(height, width)
    for (a, b), color in zip(LIMBS, COLORS, strict=False):
        if keypoints[a, 2] < threshold or keypoints[b, 2] < threshold:
            continue
        (x1, y1), (x2, y2) = keypoints[a, :2], keypoints[b, :2]
        length = math.hypot(x1 - x2, y1 - y2)
        angle = math.degrees(math.atan2(y1 - y2, x1 - x2))
        centre = (int(np.mean([x1, x2])), int(np.mean([y1, y2])))
        polygon = cv2.ellipse2Poly(centre, (int(length / 2), stick), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, [int(float(c) * 0.6) for c in color])
    for (x, y, score), color in zip(keypoints, COLORS, strict=True):
        if score >= threshold:
            cv2.circle(canvas, (int(x), int(y)), stick, color, thickness=-1)


def draw_hand(canvas: np.ndarray, keypoints: np.ndarray, threshold: float = THRESHOLD) -> None:
    """One hand's 21 keypoints (21, 3) as hue-wheel lines and blue dots, in place; points at
    the image's top or left edge (x or y <= 0.01) count as missing, as in the official code."""
    height, width = canvas.shape[:2]
    stick = max(max(int(min(height, width) / 200) - 1, 1) // 2, 1)
    eps = 0.01
    for edge, (a, b) in enumerate(HAND_EDGES):
        if keypoints[a, 2] < threshold or keypoints[b, 2] < threshold:
            continue
        x1, y1, x2, y2 = (int(v) for v in (*keypoints[a, :2], *keypoints[b, :2]))
        if min(x1, y1, x2, y2) > eps:
            cv2.line(canvas, (x1, y1), (x2, y2), _hand_color(edge), thickness=stick)
    for x, y, score in keypoints:
        if score >= threshold and int(x) > eps and int(y) > eps:
            cv2.circle(canvas, (int(x), int(y)), stick, (0, 0, 255), thickness=-1)


def draw_pose(
    height: int,
    width: int,
    body: np.ndarray,
    hands: tuple[np.ndarray, np.ndarray] | None = None,
    threshold: float = THRESHOLD,
) -> np.ndarray:
    """One pose image (H, W, 3) uint8 RGB on black: body (20, 3), optional (left, right) hands
    (21, 3) each; the order of drawing (body, left hand, right hand) is the official one."""
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    draw_body(canvas, np.asarray(body, dtype=np.float64), threshold)
    for hand in hands or ():
        draw_hand(canvas, np.asarray(hand, dtype=np.float64), threshold)
    return canvas
