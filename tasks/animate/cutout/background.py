"""The still background behind the dancer: the photo with the person inpainted away, once."""

from __future__ import annotations

import cv2
import numpy as np

INPAINT_SIDE = 128  # px: inpaint at this long side: fast, and a soft fill streaks less


def clean_plate(image: np.ndarray, mask: np.ndarray, grow: int) -> np.ndarray:
    """Photo (h, w, 3) uint8 with the person (soft mask (h, w) in [0, 1], grown by `grow` px)
    filled by Telea inpainting at low resolution, blurred, pasted back with a feathered edge."""
    height, width = mask.shape
    hole = (mask > 0.1).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    hole = cv2.dilate(hole, kernel)
    scale = min(1.0, INPAINT_SIDE / max(height, width))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, small_size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, 3, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled, (0, 0), 1.5)
    filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    feather = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), max(grow / 2, 1.0))[..., None]
    feather = np.maximum(feather, hole[..., None])
    out = image * (1.0 - feather) + filled * feather
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def torso_underlay(
    image: np.ndarray, labels: np.ndarray, torso: np.ndarray, arms: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """What the torso shows once an arm lying across it moves away.

    Returns fill (h, w) bool, the arm pixels (labels in `arms`) inside the torso polygon (4, 2)
    (shoulders and hips, pixels), and image (h, w, 3) uint8 with those pixels inpainted from the
    torso around them (Telea).
    """
    inside = np.zeros(labels.shape, dtype=np.uint8)
    cv2.fillConvexPoly(inside, np.round(torso).astype(np.int32), 1)
    fill = (inside > 0) & np.isin(labels, arms)
    if not fill.any():
        return fill, image
    hole = cv2.dilate(fill.astype(np.uint8), np.ones((5, 5), np.uint8))
    return fill, cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA)
