"""One similarity transform (scale + shift) that puts the driving head on the reference head.

Coordinates are continuous pixels (x right, y down, pixel (col, row) covers [col, col+1) x
[row, row+1)), the convention of the render stage's `joints2d`. The transform is fitted once for
the whole video: a per-frame fit would make the body jitter against the static reference photo.

Reference head from a face box (brows to chin, height f): the head spans from the crown,
`CROWN_ABOVE_BOX * f` above the box top, down over `head_to_face * f`. With the default
head_to_face 1.7 the head ends at the chin (box bottom); a larger value extends it below the chin,
for driving head parts that include the neck. 1.7 comes from anthropometry (crown-chin 23 cm /
brows-chin box 13.5 cm) and matches the scikit-image astronaut (hair top to chin 155 px / box
87 px = 1.78, skull ~1.6); on the builtin render body it puts the head parts from her hair top to
her chin.
"""

from __future__ import annotations

import cv2
import numpy as np

from tasks.align.face import FaceBox

HEAD_PARTS = (23, 24)  # DensePose head, right and left
CROWN_ABOVE_BOX = 0.7  # crown height above the face box top, in face box heights
BACKGROUND_RGB = (68, 1, 84)  # viridis(0), MagicAnimate's DensePose background


def head_boxes(parts: np.ndarray) -> np.ndarray:
    """(N, 4) float64 head bounds [top, right, bottom, left] per frame of (N, H, W) part maps,
    as continuous pixel edges (right/bottom exclusive); NaN rows where no head pixel is visible."""
    head = np.isin(parts, HEAD_PARTS)
    rows, cols = head.any(axis=2), head.any(axis=1)  # (N, H), (N, W)
    found = rows.any(axis=1)
    top = rows.argmax(axis=1)
    bottom = parts.shape[1] - rows[:, ::-1].argmax(axis=1)
    left = cols.argmax(axis=1)
    right = parts.shape[2] - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([top, right, bottom, left], axis=1).astype(np.float64)
    boxes[~found] = np.nan
    return boxes


def reference_head(face: FaceBox, head_to_face: float) -> tuple[float, float, float]:
    """Head (centre x, centre y, height) in the reference pixels implied by a face box."""
    f = face.height
    crown = face.top - CROWN_ABOVE_BOX * f
    height = head_to_face * f
    return (face.left + face.right) / 2, crown + height / 2, height


def fit_transform(boxes: np.ndarray, face: FaceBox, head_to_face: float) -> np.ndarray:
    """(2, 3) float64 matrix mapping driving pixels to output pixels: x' = s x + t.

    boxes: (T, 4) per-frame head bounds from `head_boxes` (NaN = no head). Scale and centre use
    the median over frames with a head: the median height ignores frames where the head is cut
    by the frame edge or foreshortened by a bow, and the median centre is the dancer's home
    position, so the body sways around the reference head rather than starting on it and drifting.
    """
    valid = boxes[~np.isnan(boxes).any(axis=1)]
    if len(valid) == 0:
        raise ValueError(
            "no head (DensePose parts 23, 24) in any driving frame: the dancer is off-screen "
            "(check render.margin and render.camera)"
        )
    top, right, bottom, left = valid.T
    centre_x, centre_y, height = reference_head(face, head_to_face)
    scale = height / np.median(bottom - top)
    shift_x = centre_x - scale * np.median((left + right) / 2)
    shift_y = centre_y - scale * np.median((top + bottom) / 2)
    return np.array([[scale, 0.0, shift_x], [0.0, scale, shift_y]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., 2) points in continuous driving pixels -> output pixels (same shape and dtype)."""
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(points.dtype)


def _cv_matrix(matrix: np.ndarray) -> np.ndarray:
    """The same map for OpenCV, whose integer coordinates are pixel centres (x_c = x - 0.5)."""
    cv = matrix.copy()
    cv[:, 2] += matrix[:, :2].sum(axis=1) * 0.5 - 0.5
    return cv


def warp_frames(
    frames: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: int | tuple[int, ...]
) -> np.ndarray:
    """Warp (N, H, W[, C]) uint8 frames onto (N, h, w[, C]) with nearest-neighbour sampling, so
    part indices and palette colours stay exact; uncovered pixels get `border`."""
    height, width = size
    cv = _cv_matrix(matrix)
    out = np.empty((len(frames), height, width, *frames.shape[3:]), dtype=frames.dtype)
    for i, frame in enumerate(frames):
        out[i] = cv2.warpAffine(
            frame,
            cv,
            (width, height),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    return out
