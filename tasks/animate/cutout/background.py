"""The still background behind the dancer: the photo with the whole person filled away, once."""

from __future__ import annotations

import cv2
import numpy as np

from tasks.animate.cutout.patchfill import patch_fill

MATTE_FLOOR = 0.02  # matte value above which a pixel may carry the person's colour


def plate_hole(mask: np.ndarray, grow: int) -> np.ndarray:
    """(h, w) bool pixels to fill: the soft person mask (h, w) in [0, 1] wherever it is not
    ~0, grown by `grow` px over the photo's halo."""
    hole = (mask > MATTE_FLOOR).astype(np.uint8)
    hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    return hole > 0


def outside_photo(shape: tuple[int, int], photo_box: tuple | None) -> np.ndarray | None:
    """(h, w) bool canvas pixels outside photo_box (top, right, bottom, left); None if none."""
    if photo_box is None:
        return None
    top, right, bottom, left = photo_box
    outside = np.ones(shape, dtype=bool)
    outside[top:bottom, left:right] = False
    return outside if outside.any() else None


def mirror_outside(mask: np.ndarray, photo_box: tuple | None) -> np.ndarray:
    """The person mask (h, w) with the photo's sides mirrored as the align stage extended the
    photo (cv2.BORDER_REFLECT), so the plate also removes the person's mirror image."""
    if outside_photo(mask.shape, photo_box) is None:
        return mask
    _, right, _, left = photo_box
    inner = np.ascontiguousarray(mask[:, left:right])
    return cv2.copyMakeBorder(inner, 0, 0, left, mask.shape[1] - right, cv2.BORDER_REFLECT)


def clean_plate(image: np.ndarray, mask: np.ndarray, grow: int) -> np.ndarray:
    """Photo (h, w, 3) uint8 with the person (soft mask (h, w), grown by `grow` px) filled by
    copying patches of the rest of the photo (patchfill.py)."""
    return patch_fill(image, plate_hole(mask, grow))


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
