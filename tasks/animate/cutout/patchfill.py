"""Exemplar fill of an image hole: coarse-to-fine PatchMatch with patch voting (Wexler et al.
2007, "Space-Time Completion of Video"; Barnes et al. 2009, "PatchMatch"), with texture features
(Newson et al. 2014, "Video Inpainting of Complex Scenes").

Each hole pixel takes the weighted vote of the known patches that best match the patches
overlapping it, refined from a coarse pyramid level (where the hole is small) to the full image.
Each finer level first rebuilds the hole from its own patches that the doubled matches point to
(Newson et al.) and only then searches: searching from the coarse level's blurred upsampling, a
blurred target matched smooth sources best, and the fill kept smooth blobs (dalle8's rocks).
Copying real patches keeps the surrounding texture and grain; a diffusion fill (Telea, Navier-
Stokes) or a blur would leave a smooth smear. Patches are compared on colour and on the fine
texture around them (mean |gradient| at full resolution): at a coarse level a blurred rock face
and a misty sky have the same colour, and without the texture the smooth sky, which matches any
blurred patch, would be copied into the rocks. OpenCV and scikit-image ship only diffusion or
biharmonic fills, so the search and voting loops are written here, compiled with numba.
Before the vote, lines that meet the hole are carried into its outer band (bandfill.py).
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit
from scipy import sparse
from scipy.sparse.linalg import spsolve

PATCH_RADIUS = 3  # 7x7 patches
COARSEST_SIDE = 48  # px: the pyramid stops once the long side is this small (starting at 64
# left hard steps of light across plain walls, where the hole is most of the coarsest level)
COARSE_ITERATIONS = 6  # search + vote rounds per coarse level (cheap there)
FINE_ITERATIONS = 1  # rounds at the finest level, where a round costs the most (it starts
# from the next level's matches, already refined)
SOURCE_BAND = 0.15  # patches are copied from this far around the hole, fraction of the long side
SHARP_LAST_VOTE = True  # the last vote copies the best patch's pixel: averaging blurs grain
LIGHT_SIDE = 128  # px: the fill's light is matched to its surroundings' at this long side,
LIGHT_LIMIT = 32.0  # by at most this many grey levels (a wall's shading, not the colour of a
TINT_LIMIT = 8.0  # neighbouring object, a flag beside the hole) and this much change of hue (RGB)
SEAM_SIDE = 256  # px: and near the hole's edge at this finer one
SEAM_BAND = 12  # px inside the hole's edge over which the finer match fades out
LIGHT_BLUR = 1.5  # px at those sides: only the light's step, not the texture, is matched
TEXTURE_WEIGHT = 7.0  # texture features' scale against colour (squared: Newson et al.'s lambda 50)


@njit(cache=True)
def patch_distance(image, ty, tx, sy, sx, radius, bound, skip=None):
    """SSD between the patches at target (ty, tx) and source (sy, sx); stops past `bound`.
    Target taps outside the image, or where skip (h, w) bool (an unknown pixel), are skipped
    (the source always lies `radius` inside)."""
    height, width = image.shape[:2]
    total = 0.0
    for dy in range(-radius, radius + 1):
        y = ty + dy
        if y < 0 or y >= height:
            continue
        for dx in range(-radius, radius + 1):
            x = tx + dx
            if x < 0 or x >= width:
                continue
            if skip is not None and skip[y, x]:  # numba prunes it when None (the search)
                continue
            for c in range(image.shape[2]):
                diff = image[y, x, c] - image[sy + dy, sx + dx, c]
                total += diff * diff
        if total > bound:
            return total
    return total


@njit(cache=True)
def _search(image, valid, targets, nnf, cost, radius, backward, seed):
    """One PatchMatch sweep over targets (N, 2): propagation from the scan's previous
    neighbours, then a random search at halving radii around the current match."""
    np.random.seed(seed)
    height, width = valid.shape
    count = targets.shape[0]
    step = -1 if backward else 1
    for k in range(count):
        i = count - 1 - k if backward else k
        ty, tx = np.int64(targets[i, 0]), np.int64(targets[i, 1])
        best_y, best_x, best = np.int64(nnf[ty, tx, 0]), np.int64(nnf[ty, tx, 1]), cost[ty, tx]
        for axis in range(2):
            ny, nx = (ty - step, tx) if axis == 0 else (ty, tx - step)
            if 0 <= ny < height and 0 <= nx < width and nnf[ny, nx, 0] >= 0:
                sy = np.int64(nnf[ny, nx, 0]) + ty - ny
                sx = np.int64(nnf[ny, nx, 1]) + tx - nx
                if 0 <= sy < height and 0 <= sx < width and valid[sy, sx]:
                    d = patch_distance(image, ty, tx, sy, sx, radius, best)
                    if d < best:
                        best_y, best_x, best = sy, sx, d
        span = max(height, width)
        while span >= 1:
            sy = best_y + np.random.randint(-span, span + 1)
            sx = best_x + np.random.randint(-span, span + 1)
            if 0 <= sy < height and 0 <= sx < width and valid[sy, sx]:
                d = patch_distance(image, ty, tx, sy, sx, radius, best)
                if d < best:
                    best_y, best_x, best = sy, sx, d
            span //= 2
        nnf[ty, tx, 0], nnf[ty, tx, 1], cost[ty, tx] = best_y, best_x, best


@njit(cache=True)
def _vote(image, holes, nnf, cost, radius, sigma2, best_only, out):
    """Each hole pixel (N, 2) = the similarity-weighted mean of what the matches of the patches
    covering it put there (best_only: what the best-matching one puts there, no averaging);
    written into out (h, w, c) float32."""
    height, width, channels = image.shape
    acc = np.zeros(channels)
    for i in range(holes.shape[0]):
        py, px = holes[i, 0], holes[i, 1]
        acc[:] = 0.0
        weights = 0.0
        best = np.inf
        for dy in range(-radius, radius + 1):
            qy = py - dy
            if qy < 0 or qy >= height:
                continue
            for dx in range(-radius, radius + 1):
                qx = px - dx
                if qx < 0 or qx >= width or nnf[qy, qx, 0] < 0:
                    continue
                sy, sx = nnf[qy, qx, 0] + dy, nnf[qy, qx, 1] + dx
                if best_only:
                    if cost[qy, qx] < best:
                        best = cost[qy, qx]
                        acc[:] = image[sy, sx]
                        weights = 1.0
                    continue
                weight = np.exp(-cost[qy, qx] / sigma2)
                acc += weight * image[sy, sx]
                weights += weight
        if weights > 0.0:
            out[py, px] = acc / weights


@njit(cache=True)
def _costs(image, targets, nnf, cost, radius):
    for i in range(targets.shape[0]):
        ty, tx = targets[i, 0], targets[i, 1]
        cost[ty, tx] = patch_distance(image, ty, tx, nnf[ty, tx, 0], nnf[ty, tx, 1], radius, np.inf)


def texture_features(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32: mean |horizontal| and |vertical| grey gradient over a patch around each
    pixel, from the known pixels only (the person's outline would read as texture)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    known = (~hole).astype(np.float32)
    size = (2 * PATCH_RADIUS + 1,) * 2
    features = []
    for axis in (1, 0):  # differences across columns, then across rows
        step = np.abs(np.diff(grey, axis=axis))
        both = known[:, 1:] * known[:, :-1] if axis == 1 else known[1:] * known[:-1]
        pad = ((0, 0), (0, 1)) if axis == 1 else ((0, 1), (0, 0))
        step, both = np.pad(step * both, pad), np.pad(both, pad)
        mean = cv2.boxFilter(step, -1, size, normalize=False)
        count = cv2.boxFilter(both, -1, size, normalize=False)
        features.append(mean / np.maximum(count, 1.0))
    return np.stack(features, axis=-1)


def pyramid(image: np.ndarray, hole: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(image with texture channels (h, w, 5) float32, hole bool)] from full size down; a
    coarse pixel is a hole if any of its fine pixels is, so no person colour leaks into the
    coarse levels. The texture stays that of the full size, averaged."""
    texture = TEXTURE_WEIGHT * texture_features(image, hole)
    levels = [(np.concatenate([image.astype(np.float32), texture], axis=-1), hole)]
    while max(levels[-1][1].shape) > COARSEST_SIDE:
        fine, fine_hole = levels[-1]
        size = ((fine.shape[1] + 1) // 2, (fine.shape[0] + 1) // 2)
        coarse = _resize(fine, size, cv2.INTER_AREA)
        coarse_hole = cv2.resize(fine_hole.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        levels.append((coarse, coarse_hole > 0))
    return levels[::-1]


def _resize(image: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """cv2.resize of (h, w, c) float32 to size (w, h), colour and texture apart (OpenCV's area
    resize takes at most 4 channels unless the factor is a whole number)."""
    parts = [cv2.resize(image[..., :3], size, interpolation=interpolation)]
    parts.append(cv2.resize(image[..., 3:], size, interpolation=interpolation))
    return np.concatenate(parts, axis=-1)


def valid_sources(hole: np.ndarray, radius: int) -> np.ndarray:
    """Patch centres whose whole patch is known and inside the image, within SOURCE_BAND of the
    hole: nearby patches match its light, and a distant object (another person) is not copied."""
    known = cv2.erode((~hole).astype(np.uint8), np.ones((2 * radius + 1,) * 2, np.uint8))
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    band = max(4 * radius, SOURCE_BAND * max(hole.shape))
    valid = known.astype(bool) & (distance <= band)
    valid[:radius], valid[-radius:], valid[:, :radius], valid[:, -radius:] = (False,) * 4
    return valid


def _random_matches(valid: np.ndarray, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    sources = np.argwhere(valid)
    nnf = np.full((*shape, 2), -1, dtype=np.int32)
    nnf[...] = sources[rng.integers(0, len(sources), shape)]
    return nnf


def _upsampled_matches(
    coarse: np.ndarray, shape: tuple, valid: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The coarse level's matches, doubled, for the next level; random where that is invalid."""
    rows, cols = np.indices(shape)
    up = coarse[
        np.minimum(rows // 2, coarse.shape[0] - 1), np.minimum(cols // 2, coarse.shape[1] - 1)
    ]
    up = 2 * up + np.stack([rows % 2, cols % 2], axis=-1)
    up[..., 0] = np.clip(up[..., 0], 0, shape[0] - 1)
    up[..., 1] = np.clip(up[..., 1], 0, shape[1] - 1)
    bad = ~valid[up[..., 0], up[..., 1]]
    up[bad] = _random_matches(valid, shape, rng)[bad]
    return up.astype(np.int32)


def patch_fill(image: np.ndarray, hole: np.ndarray, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 image with hole (h, w) bool filled from the rest of the image."""
    if not hole.any():
        return image.copy()
    radius = PATCH_RADIUS
    rng = np.random.default_rng(seed)
    levels = pyramid(image, hole)
    nnf, current = None, None
    for depth, (level, level_hole) in enumerate(levels):
        shape = level_hole.shape
        valid = valid_sources(level_hole, radius)
        if not valid.any():  # the hole covers this level: nothing to copy from yet
            current = None
            continue
        work = level.copy()
        upsampled = current is not None
        if not upsampled:  # the coarsest usable level starts from the edge's membrane
            work = membrane(level, level_hole)
            nnf = _random_matches(valid, shape, rng)
        else:
            up = _resize(current, (shape[1], shape[0]), cv2.INTER_LINEAR)
            work[level_hole] = up[level_hole]
            nnf = _upsampled_matches(nnf, shape, valid, rng)
        covered = cv2.dilate(level_hole.astype(np.uint8), np.ones((2 * radius + 1,) * 2, np.uint8))
        targets = np.argwhere(covered > 0).astype(np.int32)
        holes = np.argwhere(level_hole).astype(np.int32)
        nnf[covered == 0] = -1
        cost = np.zeros(shape, dtype=np.float64)
        _costs(work, targets, nnf, cost, radius)
        if upsampled:  # rebuilt from this level's patches that the doubled matches point to
            _vote(work, holes, nnf, cost, radius, _sigma2(cost, covered), False, work)
            _costs(work, targets, nnf, cost, radius)
        rounds = FINE_ITERATIONS if depth == len(levels) - 1 else COARSE_ITERATIONS
        for round_ in range(rounds):
            _search(work, valid, targets, nnf, cost, radius, round_ % 2 == 1, seed + round_)
            last = depth == len(levels) - 1 and round_ == rounds - 1
            sigma2 = _sigma2(cost, covered)
            _vote(work, holes, nnf, cost, radius, sigma2, last and SHARP_LAST_VOTE, work)
            _costs(work, targets, nnf, cost, radius)
        current = work
    if current is None:
        return cv2.inpaint(image, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return np.clip(current[..., :3] + 0.5, 0, 255).astype(np.uint8)


def _sigma2(cost: np.ndarray, covered: np.ndarray) -> float:
    """The vote's similarity scale: the 75th percentile of the matches' costs."""
    return max(float(np.percentile(cost[covered > 0], 75)), 1e-3)


def membrane(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """image (h, w, c) float32 with hole (h, w) bool replaced by the harmonic interpolation of
    its edge (Laplace's equation, the image's border free): smooth, and never lighter or darker
    than the edge. A marching fill (Telea) would not do: its fronts from a dark and a lit side
    meet along the hole's middle, a hard step of light that draws the person's outline into the
    plate; a biharmonic one overshoots past a flag's edge. OpenCV and scikit-image have no
    Laplace fill, so it is solved here with scipy.sparse."""
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    index = np.full(hole.shape, -1, np.int64)
    index[ys, xs] = np.arange(len(ys))
    known = image.reshape(height * width, -1).astype(np.float64)
    degree = np.zeros(len(ys))
    rhs = np.zeros((len(ys), known.shape[1]))
    rows, cols = [np.arange(len(ys))], [np.arange(len(ys))]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y, x = ys + dy, xs + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        degree += inside
        me, y, x = np.flatnonzero(inside), y[inside], x[inside]
        other = index[y, x]
        rows.append(me[other >= 0])
        cols.append(other[other >= 0])
        np.add.at(rhs, me[other < 0], known[y[other < 0] * width + x[other < 0]])
    weights = np.concatenate([degree, -np.ones(sum(len(r) for r in rows[1:]))])
    laplacian = sparse.csc_matrix(
        (weights, (np.concatenate(rows), np.concatenate(cols))), shape=(len(ys),) * 2
    )
    out = image.astype(np.float32).copy()
    out[ys, xs] = spsolve(laplacian, rhs).reshape(len(ys), -1)
    return out


def _edge_step(filled: np.ndarray, image: np.ndarray, hole: np.ndarray, side: int) -> np.ndarray:
    """(h, w, 3) float32: the step of light from filled's pixels just inside hole to image's just
    outside it (each side's own mean, blurred LIGHT_BLUR px at `side` px), spread over the hole
    by `membrane` at `side` px, upsampled."""
    height, width = hole.shape
    scale = side / max(height, width)
    sigma = LIGHT_BLUR / scale
    step = local_mean(image, ~hole, sigma) - local_mean(filled, hole, sigma)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    # the step is read two px out: a shadow's faint tail along the edge is no wall's light, and
    # a small island of wall (between the legs) would darken the whole fill around it
    small_hole = cv2.dilate((small_hole > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    spread = membrane(cv2.resize(step, size, interpolation=cv2.INTER_AREA), small_hole)
    return cv2.resize(spread, (width, height), interpolation=cv2.INTER_LINEAR)


def match_light(filled: np.ndarray, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """filled (h, w, 3) uint8 with its light inside hole (h, w) bool moved by the step between it
    and image's light along the hole's edge, spread over the hole (as in Poisson blending), within
    LIGHT_LIMIT (patches copied from a lighter or darker part of the wall would leave a lighter or
    darker ghost of the person's shape), and, within SEAM_BAND px of the edge, by the finer step
    too (no visible outline); each changes the hue by at most TINT_LIMIT (a red flag beside the
    hole is no wall's tint). The fill keeps its own light inside: interpolating the surroundings'
    light across the hole instead lit a head of sky into dalle8's mist."""
    out = filled.astype(np.float32)
    shift = _edge_step(filled, image, hole, LIGHT_SIDE)
    light = shift.mean(axis=-1, keepdims=True)
    out[hole] += (np.clip(light, -LIGHT_LIMIT, LIGHT_LIMIT) + _tint(shift - light))[hole]
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    fade = np.clip(1 - inside / SEAM_BAND, 0, 1) * hole
    seam = _edge_step(np.clip(out, 0, 255), image, hole, SEAM_SIDE)
    light = seam.mean(axis=-1, keepdims=True)
    out += (light + _tint(seam - light)) * fade[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def local_mean(values: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """(h, w[, c]) float32: the Gaussian-weighted (sigma px) mean of values (h, w[, c]) over
    weight (h, w) bool or float; meaningful where the blurred weight exceeds 1e-3."""
    weight = weight.astype(np.float32)
    values = values.astype(np.float32)
    spread = weight[..., None] if values.ndim == 3 else weight
    norm = np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-3)
    total = cv2.GaussianBlur(values * spread, (0, 0), sigma)
    return total / (norm[..., None] if values.ndim == 3 else norm)


def _tint(tint: np.ndarray) -> np.ndarray:
    """Hue shifts (..., 3) (zero mean per pixel) shortened to at most TINT_LIMIT."""
    size = np.linalg.norm(tint, axis=-1, keepdims=True)
    return tint * np.minimum(1.0, TINT_LIMIT / np.maximum(size, 1e-6))
