"""CPU triangle rasterizer (numba): z-buffered face-index maps, hard part labels, shaded previews.

Screen vertices are (x, y, 1/depth) in pixels (x right, y down; pixel (i, j) covers
[j, j+1) x [i, i+1), sampled at its centre). 1/depth is affine in screen space, so it is
interpolated linearly with the edge-function barycentrics and the largest value wins (nearest).
One triangle owns a pixel entirely: labels are never blended.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _raster_frame(screen: np.ndarray, faces: np.ndarray, face_ids: np.ndarray) -> None:
    """Write into face_ids (H, W) int32 the index of the nearest face at each pixel (-1: none)."""
    height, width = face_ids.shape
    zbuf = np.zeros((height, width), dtype=np.float32)
    face_ids[:] = -1
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        x0, y0, z0 = screen[i0, 0], screen[i0, 1], screen[i0, 2]
        x1, y1, z1 = screen[i1, 0], screen[i1, 1], screen[i1, 2]
        x2, y2, z2 = screen[i2, 0], screen[i2, 1], screen[i2, 2]
        if z0 <= 0.0 or z1 <= 0.0 or z2 <= 0.0:  # behind the camera
            continue
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if area == 0.0:
            continue
        if area < 0.0:  # make the winding positive so all edge functions are >= 0 inside
            x1, y1, z1, x2, y2, z2 = x2, y2, z2, x1, y1, z1
            area = -area
        col0 = max(int(math.ceil(min(x0, x1, x2) - 0.5)), 0)
        col1 = min(int(math.floor(max(x0, x1, x2) - 0.5)), width - 1)
        row0 = max(int(math.ceil(min(y0, y1, y2) - 0.5)), 0)
        row1 = min(int(math.floor(max(y0, y1, y2) - 0.5)), height - 1)
        if col0 > col1 or row0 > row1:
            continue
        inv_area = 1.0 / area
        for row in range(row0, row1 + 1):
            py = row + 0.5
            for col in range(col0, col1 + 1):
                px = col + 0.5
                w0 = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
                w1 = (x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)
                w2 = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                inv_depth = (w0 * z0 + w1 * z1 + w2 * z2) * inv_area
                if inv_depth > zbuf[row, col]:
                    zbuf[row, col] = inv_depth
                    face_ids[row, col] = f


@njit(cache=True, parallel=True)
def _raster_batch(screen: np.ndarray, faces: np.ndarray, face_ids: np.ndarray) -> None:
    for t in prange(screen.shape[0]):
        _raster_frame(screen[t], faces, face_ids[t])


@njit(cache=True, parallel=True)
def _lookup(face_ids: np.ndarray, table: np.ndarray, out: np.ndarray) -> None:
    """out[...] = table[face_ids + 1] (table[0] is the background value)."""
    for t in prange(face_ids.shape[0]):
        for row in range(face_ids.shape[1]):
            for col in range(face_ids.shape[2]):
                out[t, row, col] = table[face_ids[t, row, col] + 1]


def rasterize(screen: np.ndarray, faces: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest face index per pixel, (T, H, W) int32, -1 where no face.

    screen (T, V, 3): x, y pixels and 1/depth (1/metres, <= 0 means behind the camera);
    faces (F, 3) int vertex indices.
    """
    face_ids = np.empty((len(screen), height, width), dtype=np.int32)
    _raster_batch(
        np.ascontiguousarray(screen, dtype=np.float32),
        np.ascontiguousarray(faces, dtype=np.int32),
        face_ids,
    )
    return face_ids


def part_maps(face_ids: np.ndarray, face_parts: np.ndarray) -> np.ndarray:
    """DensePose part index per pixel (T, H, W) uint8, 0 background, from `rasterize`'s output."""
    table = np.concatenate([[0], face_parts]).astype(np.uint8)
    out = np.empty(face_ids.shape, dtype=np.uint8)
    _lookup(face_ids, table, out)
    return out


def part_palette() -> np.ndarray:
    """(25, 3) uint8 RGB preview colours per part (turbo colormap), background black."""
    values = np.linspace(0, 255, 25).astype(np.uint8)[None]
    palette = cv2.applyColorMap(values, cv2.COLORMAP_TURBO)[0, :, ::-1].copy()
    palette[0] = 0
    return palette


def shaded_preview(
    face_ids: np.ndarray, world: np.ndarray, faces: np.ndarray, face_parts: np.ndarray
) -> np.ndarray:
    """Lambert-shaded part colours (T, H, W, 3) uint8, light from the camera (-Y), for people.

    world (T, V, 3) posed vertices, z-up, camera on -Y looking +Y.
    """
    tri = world[:, faces]  # (T, F, 3, 3)
    normals = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    lambert = 0.25 + 0.75 * np.abs(normals[..., 1])  # (T, F), two-sided
    colours = part_palette()[face_parts].astype(np.float32)  # (F, 3)
    shade = np.concatenate([np.zeros((len(world), 1)), lambert], axis=1)  # (T, F + 1)
    idx = face_ids + 1  # (T, H, W)
    rgb = np.take_along_axis(shade, idx.reshape(len(idx), -1), axis=1).reshape(idx.shape)
    palette = np.concatenate([np.zeros((1, 3), np.float32), colours])
    return (palette[idx] * rgb[..., None]).astype(np.uint8)
