"""Pinhole camera on -Y looking toward +Y (z up), framed so the body stays in view all clip long.

World (z-up, metres) to image: x_img = fx * (X - Cx) / (Y - Cy) + W/2, y_img = -fy * (Z - Cz) /
(Y - Cy) + H/2, so image x to the right is world +X and image y down is world -Z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# Rows map world axes to camera axes (x right, y down, z forward).
WORLD_TO_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Camera:
    """Intrinsics (pixels) and per-frame positions (T, 3) in the world (fixed: all rows equal)."""

    height: int
    width: int
    focal: float
    positions: np.ndarray

    def as_dict(self) -> dict:
        """JSON-able description: intrinsics K, world-to-camera rotation, position of frame 0."""
        return {
            "model": "pinhole",
            "intrinsics": [
                [self.focal, 0.0, self.width / 2],
                [0.0, self.focal, self.height / 2],
                [0.0, 0.0, 1.0],
            ],
            "rotation": WORLD_TO_CAMERA.tolist(),
            "position": self.positions[0].tolist(),
            "fixed": bool(np.all(self.positions == self.positions[0])),
        }


def frame_size(resolution: int, aspect: str) -> tuple[int, int]:
    """(H, W) pixels: `resolution` is the long side; portrait is 9:16 with W even (video codecs)."""
    if aspect == "square":
        return resolution, resolution
    if aspect == "portrait":
        return resolution, max(2, round(resolution * 9 / 32) * 2)
    raise ValueError(f"aspect {aspect!r} must be 'square' or 'portrait'")


def project(points: np.ndarray, camera: Camera, frames: slice) -> np.ndarray:
    """Screen coordinates (T, N, 3): x, y pixels and 1/depth, for points (T, N, 3) of `frames`."""
    rel = points - camera.positions[frames, None, :]
    inv_depth = 1.0 / np.maximum(rel[..., 1], 1e-6)
    inv_depth = np.where(rel[..., 1] > 1e-6, inv_depth, -1.0)
    x = camera.focal * rel[..., 0] * inv_depth + camera.width / 2
    y = -camera.focal * rel[..., 2] * inv_depth + camera.height / 2
    return np.stack([x, y, inv_depth], axis=-1).astype(np.float32)


def fit_camera(
    lower: np.ndarray,
    upper: np.ndarray,
    root: np.ndarray,
    *,
    height: int,
    width: int,
    margin: float,
    follow: bool,
    fov_deg: float = 30.0,
    smooth_frames: float = 15.0,
) -> Camera:
    """Camera framing every frame's body box lower..upper (T, 3) with `margin` to spare.

    margin: padding on every side as a fraction of the body box's largest extent.
    follow: the camera translates in X/Y with the root (T, 3), Gaussian-smoothed over
    `smooth_frames` (sigma, frames); otherwise one fixed position for the whole clip.
    fov_deg: field of view across the long image side.
    """
    # 1. Camera path in the ground plane (zero for a fixed camera).
    shift = np.zeros_like(root, dtype=np.float64)
    if follow:
        shift[:, :2] = gaussian_filter1d(root[:, :2].astype(np.float64), smooth_frames, axis=0)
    # 2. Box of the whole clip relative to the camera path, padded.
    lo = (lower - shift).min(axis=0)
    hi = (upper - shift).max(axis=0)
    pad = margin * float((hi - lo).max())
    lo, hi = lo - pad, hi + pad
    # 3. Distance so the box's near face fits both image sides.
    focal = (max(height, width) / 2) / math.tan(math.radians(fov_deg) / 2)
    half_x, half_z = (hi[0] - lo[0]) / 2, (hi[2] - lo[2]) / 2
    distance = max(focal * half_x / (width / 2), focal * half_z / (height / 2), 0.1)
    base = np.array([(lo[0] + hi[0]) / 2, lo[1] - distance, (lo[2] + hi[2]) / 2])
    return Camera(height=height, width=width, focal=focal, positions=base + shift)
