"""Lines that meet an image hole carried on into its outer band, patch by patch in priority
order (Criminisi et al. 2004, "Region Filling and Object Removal by Exemplar-Based Image
Inpainting").

The coarse-to-fine vote (patchfill.py) lays the hole out at a coarse level from what surrounds
it most and averages overlapping patches: a flag's stripes or a table's edge meeting the hole
fade into the wall within a patch's width, and the flag reads as cut by a band of wall. Filled
front point by front point, strongest line first (its isophote across the front, times how
much of its patch is known or confidently filled), the lines run on into the hole. Only lines
and only a band are filled so: a front no line crosses, or the hole's inside, copied patch by
patch in this greedy order, shows each patch's light as a step across a smooth wall (multi1's
wall took grey blobs), which the vote's averaging does not. OpenCV and scikit-image have no
exemplar fill.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from tasks.animate.cutout.patchfill import PATCH_RADIUS, patch_distance, pyramid, valid_sources

LINE_MIN = 0.08  # line term (isophote across the front per 255 grey levels) below which a front
# point is left to the vote: a flag's stripes or a table's edge run 0.3-0.4, a wall's shading
# far below 0.08
BAND_SIDE = 256  # px: the band is filled at the coarsest level at least this long (the search
# is brute force), each pixel then copied at full size from where its coarse patch came from
BAND_WIDTH = 0.04  # of the long side: the band's width inside the hole (the evaluation's plate
# reaches 0.03 past the person: the part of the fill that a dancer leaves bare most often)
SOURCE_DISTANCE_COST = 20.0  # per px^2 at the band's level: near patches continue a line where
# it runs; the nearest patch of a rocket's fin across the wall would be copied next to the flag


@njit(cache=True)
def _priority(image, hole, confidence, y, x, radius):
    """(confidence, line) of front point (y, x): the mean confidence of its patch and the
    strongest known grey gradient's isophote across the front's normal (per 255 grey levels)."""
    height, width = hole.shape
    total, count = 0.0, 0
    strongest, gx_best, gy_best = 0.0, 0.0, 0.0
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            yy, xx = y + dy, x + dx
            if yy < 1 or yy >= height - 1 or xx < 1 or xx >= width - 1:
                continue
            count += 1
            total += confidence[yy, xx]
            if hole[yy, xx] or hole[yy, xx - 1] or hole[yy, xx + 1]:
                continue
            if hole[yy - 1, xx] or hole[yy + 1, xx]:
                continue
            gx, gy = 0.0, 0.0
            for c in range(3):
                gx += (image[yy, xx + 1, c] - image[yy, xx - 1, c]) / 6.0
                gy += (image[yy + 1, xx, c] - image[yy - 1, xx, c]) / 6.0
            if gx * gx + gy * gy > strongest:
                strongest, gx_best, gy_best = gx * gx + gy * gy, gx, gy
    normal_x, normal_y = 0.0, 0.0  # Sobel of the hole indicator
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            yy, xx = y + dy, x + dx
            if 0 <= yy < height and 0 <= xx < width and hole[yy, xx]:
                normal_x += dx * (2 - abs(dy))
                normal_y += dy * (2 - abs(dx))
    norm = np.sqrt(normal_x * normal_x + normal_y * normal_y)
    line = 0.0
    if norm > 0.0:
        line = abs(gx_best * normal_y - gy_best * normal_x) / norm / 255.0
    return total / max(count, 1), line


@njit(cache=True)
def _on_front(hole, y, x):
    height, width = hole.shape
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        yy, xx = y + dy, x + dx
        if 0 <= yy < height and 0 <= xx < width and not hole[yy, xx]:
            return True
    return False


@njit(cache=True)
def _best_source(image, hole, sources, y, x, radius, distance_cost):
    """The source patch centre (sources (N, 2)) nearest the known part of the patch at (y, x)
    in SSD over all channels plus distance_cost per squared px of offset."""
    best, best_y, best_x = np.inf, -1, -1
    for i in range(sources.shape[0]):
        sy, sx = sources[i, 0], sources[i, 1]
        total = distance_cost * ((sy - y) ** 2 + (sx - x) ** 2)
        if total >= best:
            continue
        total += patch_distance(image, y, x, sy, sx, radius, best - total, hole)
        if total < best:
            best, best_y, best_x = total, sy, sx
    return best_y, best_x


@njit(cache=True)
def _priority_fill(image, hole, band, sources, radius, distance_cost):
    """Fill the hole (h, w) bool pixels in band (h, w) bool of image (h, w, c) float32 (in
    place) from the known patches centred at sources (N, 2), one front patch at a time in
    priority order, while a front point has a line (LINE_MIN). Returns offsets (h, w, 2)
    int32, source minus target, and filled (h, w) bool."""
    height, width = hole.shape
    hole = hole.copy()
    confidence = np.where(hole, 0.0, 1.0)
    offsets = np.zeros((height, width, 2), np.int32)
    filled = np.zeros((height, width), np.bool_)
    todo = np.argwhere(hole & band)
    left = todo.shape[0]
    while left > 0:
        best, best_y, best_x, best_confidence = -1.0, -1, -1, 0.0
        for i in range(todo.shape[0]):
            y, x = todo[i, 0], todo[i, 1]
            if not hole[y, x] or not _on_front(hole, y, x):
                continue
            mean, line = _priority(image, hole, confidence, y, x, radius)
            priority = mean * line
            if line >= LINE_MIN and priority > best:
                best, best_y, best_x, best_confidence = priority, y, x, mean
        if best_y < 0:
            break
        sy, sx = _best_source(image, hole, sources, best_y, best_x, radius, distance_cost)
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                yy, xx = best_y + dy, best_x + dx
                if yy < 0 or yy >= height or xx < 0 or xx >= width:
                    continue
                if not (hole[yy, xx] and band[yy, xx]):
                    continue
                image[yy, xx] = image[sy + dy, sx + dx]
                offsets[yy, xx, 0], offsets[yy, xx, 1] = sy - best_y, sx - best_x
                hole[yy, xx], filled[yy, xx] = False, True
                confidence[yy, xx] = best_confidence
                left -= 1
    return offsets, filled


def outer_band(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image (h, w, 3) uint8 with the lines meeting the hole carried BAND_WIDTH into it by
    `_priority_fill`, the pixels so filled (h, w) bool)."""
    levels = pyramid(image, hole)
    sides = [max(level_hole.shape) for _, level_hole in levels]
    depth = next((i for i, side in enumerate(sides) if side >= BAND_SIDE), len(levels) - 1)
    level, level_hole = levels[depth]
    factor = 2 ** (len(levels) - 1 - depth)
    sources = np.argwhere(valid_sources(level_hole, PATCH_RADIUS)).astype(np.int64)
    if not len(sources):
        return image.copy(), np.zeros_like(hole)
    inside = cv2.distanceTransform(level_hole.astype(np.uint8), cv2.DIST_L2, 3)
    band = level_hole & (inside <= BAND_WIDTH * max(hole.shape) / factor)
    offsets, filled = _priority_fill(
        level.copy(), level_hole, band, sources, PATCH_RADIUS, SOURCE_DISTANCE_COST
    )
    filled = filled.repeat(factor, axis=0).repeat(factor, axis=1)[: hole.shape[0], : hole.shape[1]]
    ys, xs = np.nonzero(hole & filled)
    shift = factor * offsets[ys // factor, xs // factor]
    out = image.copy()
    out[ys, xs] = image[ys + shift[:, 0], xs + shift[:, 1]]  # known, as their coarse pixels
    return out, hole & filled
