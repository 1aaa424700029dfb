"""The face video's frame: the reference face cropped and resized as Wan2.2-Animate's
preprocessing crops the driving face (`get_face_bboxes(..., scale=1.3)`, then a square resize).

Our motion has no facial expression, so the face video repeats this one crop: the output keeps
the photo's expression (static), while the pose video moves the head.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_AREA_SCALE = 1.3  # official: the face box's area grows by this factor...
# ...keeping its aspect, widening evenly and heightening three parts up (forehead, hair) to one
# part down.


def face_window(face_box: list | tuple, image_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) pixels around a face box [top, right, bottom, left], inside the image."""
    top, right, bottom, left = (float(v) for v in face_box)
    height, width = image_shape
    box_w, box_h = right - left, bottom - top
    if box_w <= 0 or box_h <= 0:
        raise ValueError(f"empty face box {list(face_box)}")
    area = box_w * box_h * FACE_AREA_SCALE
    grow_w = (np.sqrt(area * box_w / box_h) - box_w) / 2
    grow_h = (np.sqrt(area * box_h / box_w) - box_h) / 4
    return (
        int(max(left - grow_w, 0)),
        int(min(right + grow_w, width)),
        int(max(top - 3 * grow_h, 0)),
        int(min(bottom + grow_h, height)),
    )


def face_frame(reference: np.ndarray, face_box: list | tuple, size: int) -> np.ndarray:
    """The face crop of reference (H, W, 3) uint8, resized to (size, size, 3) uint8."""
    x0, x1, y0, y1 = face_window(face_box, reference.shape[:2])
    return cv2.resize(np.ascontiguousarray(reference[y0:y1, x0:x1]), (size, size))
