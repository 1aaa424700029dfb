"""The honest preview animator: the reference photo beside the aligned DensePose driving video.

It shows what a generative animator would receive (appearance + pose) without pretending to
animate the person; the "PREVIEW" label keeps it from being mistaken for a result.
"""

from __future__ import annotations

import cv2
import numpy as np

LABEL = "PREVIEW"


def labelled_reference(reference: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 copy of the reference with a small LABEL in the top-left corner."""
    image = reference.copy()
    height = image.shape[0]
    scale = max(height / 640, 0.25)  # ~0.8 at 512 px: small but readable
    thickness = max(round(2 * scale), 1)
    origin = (max(round(8 * scale), 2), max(round(30 * scale), 10))
    font = cv2.FONT_HERSHEY_SIMPLEX
    # A dark outline under the white text keeps it legible on any photo.
    cv2.putText(image, LABEL, origin, font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, LABEL, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def side_by_side(left: np.ndarray, driving: np.ndarray) -> np.ndarray:
    """(N, h, 2w, 3) uint8: the static (h, w, 3) `left` image beside (N, h, w, 3) `driving`."""
    if driving.shape[1:] != left.shape:
        raise ValueError(f"driving frames {driving.shape} do not match the reference {left.shape}")
    num, height, width = driving.shape[:3]
    frames = np.empty((num, height, 2 * width, 3), dtype=np.uint8)
    frames[:, :, :width] = left
    frames[:, :, width:] = driving
    return frames
