"""The person's cast shadow and contact halo on a plain background, to be filled with the person.

A photo's subject throws a soft shadow on the wall behind; left in the plate it stays there as a
dark copy of the photo's pose while the cut-out dances. A shadow is the wall a little darker:
about the same chromaticity, lower luminance, smooth, and joined to the person. Textured
backgrounds (a nebula, rocks) are left alone: their dark spots are texture, not shadow.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

REACH = 0.12  # how far from the person a shadow may reach, fraction of the long side
DARKER = 0.12  # luminance below the lit wall's by this fraction: shadow
PENUMBRA = 0.03  # and its soft edge, this much darker, within PENUMBRA_REACH of it (left on the
PENUMBRA_REACH = 0.03  # wall, the edge drew a dark outline of the filled shadow), long side
CHROMA = 0.035  # chromaticity (r, g of r+g+b) off the lit wall's by at most this
PLAIN = 0.8  # share of flat pixels around the person below which no shadow is looked for
FLAT = 0.03  # local luminance deviation (fraction of the wall's) above which it is texture


def _known_mean(values: np.ndarray, known: np.ndarray, size: int) -> np.ndarray:
    """Box mean of values (h, w[, c]) over known (h, w) pixels only."""
    weight = cv2.boxFilter(known.astype(np.float32), -1, (size, size), normalize=True)
    masked = values * (known[..., None] if values.ndim == 3 else known)
    total = cv2.boxFilter(masked.astype(np.float32), -1, (size, size), normalize=True)
    weight = weight[..., None] if values.ndim == 3 else weight
    return total / np.maximum(weight, 1e-6)


def cast_shadow(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(h, w) bool pixels outside hole (h, w) bool that are the person's shadow or halo on a
    plain background: darker than the lit wall around them (its brightest flat level within
    2 REACH), of its chromaticity, flat, and connected to the hole; with its soft edge, as the
    wall but only PENUMBRA darker, within PENUMBRA_REACH of it (hysteresis, as Canny's edges)."""
    reach = max(3, round(REACH * max(hole.shape)))
    known = ~hole
    rgb = image.astype(np.float32) + 1.0
    luma = rgb.mean(axis=2)
    smooth = _known_mean(luma, known, 5)
    # texture: what is left after a local mean (a smooth shadow's gradient leaves nothing)
    deviation = _known_mean(np.abs(luma - smooth), known, 7)
    chroma = _known_mean(rgb[..., :2] / rgb.sum(axis=2, keepdims=True), known, 5)
    # the lit wall: the brightest flat level within twice the reach (past a shadow beside an
    # arm beside the body), and its chromaticity where it is lit (flat cloth nearby, another
    # person's jeans, is no measure of the wall's colour)
    flat = known & (deviation < FLAT * smooth)
    lit_level = np.where(flat, smooth, 0).astype(np.float32)
    lit = cv2.dilate(lit_level, np.ones((4 * reach + 1,) * 2, np.uint8))
    wall_chroma = _known_mean(chroma, flat & (smooth >= (1 - DARKER) * lit), 4 * reach + 1)
    wall_like = flat & (np.abs(chroma - wall_chroma).max(axis=2) < CHROMA)
    near = known & (cv2.distanceTransform(known.astype(np.uint8), cv2.DIST_L2, 3) <= reach)
    if flat[near].mean() < PLAIN:  # a textured background: its dark parts are not a shadow
        return np.zeros_like(hole)
    shadow = joined(wall_like & near & (smooth < (1 - DARKER) * lit), hole)
    edge_reach = max(1, round(PENUMBRA_REACH * max(hole.shape)))
    beside = cv2.distanceTransform((~shadow).astype(np.uint8), cv2.DIST_L2, 3) <= edge_reach
    soft_edge = wall_like & known & beside & (smooth < (1 - PENUMBRA) * lit)
    return shadow | joined(soft_edge, shadow)


def joined(candidate: np.ndarray, to: np.ndarray) -> np.ndarray:
    """The components of candidate (h, w) bool that touch `to` (h, w) bool."""
    components, _ = ndimage.label(candidate | to)
    touching = np.unique(components[to])
    return np.isin(components, touching[touching > 0]) & candidate
