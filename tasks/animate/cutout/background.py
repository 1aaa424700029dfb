"""The still background behind the dancer: the photo with the whole person filled away, once."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import label as ndimage_label
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from tasks.animate.cutout.bandfill import outer_band
from tasks.animate.cutout.bones import TORSO
from tasks.animate.cutout.patchfill import local_mean, match_light, patch_fill
from tasks.animate.cutout.shadow import cast_shadow, joined

UNDERLAY_BAND = 0.03  # of the body's height: rows whose body extent bounds the underlay of a row
MIRROR_WIDTH = 1.5  # typical half-widths of the body beyond which a free side is no measure
BRIDGE = 0.15  # of the body's height: an edge hidden no longer than this runs straight across
ANCHOR_ROWS = 8  # free rows each side of a hidden edge whose median it is drawn from
SEAM = 2  # px of body along an arm's outline that the underlay redraws
ARM_SHADOW_REACH = 0.025  # of the body's height: how far an arm's shadow on the body reaches
ARM_SHADOW_DARKER = 0.15  # luminance below the body's nearby by this fraction: the arm's shadow
ARM_SHADOW_CHROMA = 0.035  # chromaticity (r, g of r+g+b) off the body's nearby by at most this
MAX_SHADOW_GAIN = 2.5  # an arm's shadow is lit by at most this factor
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


def clean_plate(
    image: np.ndarray, mask: np.ndarray, grow: int, keep: np.ndarray | None = None
) -> np.ndarray:
    """Photo (h, w, 3) uint8 with the person (soft mask (h, w), grown by `grow` px) and their
    cast shadow (shadow.py) filled by copying patches of the rest of the photo, the lines that
    meet the hole first (bandfill.py), then the rest (patchfill.py), in the light of the hole's
    surroundings; keep (h, w) bool stays as photographed (the legs of a seated photo, which the
    plate carries) but lends no patch to the fill."""
    hole = plate_hole(mask, grow)
    if not hole.any():  # nothing to fill: the light match has no edge to read
        return image.copy()
    hole |= cast_shadow(image, hole)
    if keep is not None:
        hole |= keep
    lined, band = outer_band(image, hole)
    plate = match_light(patch_fill(lined, hole & ~band), image, hole)
    if keep is not None:
        plate[keep] = image[keep]
    return plate


def body_underlay(
    image: np.ndarray,
    labels: np.ndarray,
    body: tuple[int, ...],
    arms: tuple[int, ...],
    spine: tuple[np.ndarray, np.ndarray] | None = None,
    shade: np.ndarray | None = None,
    held: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What the body shows once an arm lying across it moves away.

    Returns fill (h, w) bool, the arm pixels (labels in `arms`) between the leftmost and the
    rightmost pixel of the `body` bones (torso and legs) on nearly the same rows (an arm
    hanging beside the body stays outside), and image (h, w, 3) uint8 with those pixels (and
    the body's own SEAM px along them) copied from the body's own pixels on their row
    (`mirror_rows`): the wall beside the body and the arm's skin never bleed into the torso or
    jeans it uncovers. With the spine, an edge the arm hides is found by mirroring the free one
    (`_mirrored_edges`); one hidden over a few rows, or a leg's, from the free edge near it
    (`_bridged_edge`). shade (h, w) bool, the arm's shadow on the body (`arm_shadow`), lends no
    pixel. held (h, w) bool, an arm that keeps the photo's pose, bounds the body like any arm
    but is never filled: the torso's sheet draws it as photographed.
    """
    own = np.isin(labels, body)
    fill = np.zeros(labels.shape, dtype=bool)
    rows = np.nonzero(own.any(axis=1))[0]
    if not len(rows):
        return fill, image
    cols = np.arange(labels.shape[1])
    first = np.where(own, cols, labels.shape[1]).min(axis=1)
    last = np.where(own, cols, -1).max(axis=1)
    seen = first.copy(), last.copy()
    sides = _beside(labels, arms, first, -1), _beside(labels, arms, last, 1)
    if spine is not None:
        first, last = _mirrored_edges(rows, first, last, spine, *sides)
    # rows an arm hides completely (lying across the body) take their neighbours' extent
    inside = np.arange(rows[0], rows[-1] + 1)
    first[inside] = np.interp(inside, rows, first[rows])
    last[inside] = np.interp(inside, rows, last[rows])
    band = 2 * round(UNDERLAY_BAND * np.ptp(rows)) + 1
    first = minimum_filter1d(first, band, mode="nearest")
    last = maximum_filter1d(last, band, mode="nearest")
    # the envelope's steps would cut the fill's side straight down, a block of each row's
    # garment: averaged over the same rows it slopes, and still bounds every row's extent
    first[inside] = np.floor(uniform_filter1d(first[inside].astype(float), band, mode="nearest"))
    last[inside] = np.ceil(uniform_filter1d(last[inside].astype(float), band, mode="nearest"))
    bridge = round(BRIDGE * np.ptp(rows))
    first = _bridged_edge(labels, seen[0], first, -1, bridge, *sides[0])
    last = _bridged_edge(labels, seen[1], last, 1, bridge, *sides[1])
    fill = np.isin(labels, arms) & (cols >= first[:, None]) & (cols <= last[:, None])
    if held is not None:
        fill &= ~held
    if not fill.any():
        return fill, image
    # sources: the body's pixels away from its edges (the edge pixels mix in wall and arm); the
    # body's pixels along the arm's outline, a dark seam of arm and shadow, are redrawn too
    near_arm = cv2.dilate(fill.astype(np.uint8), np.ones((2 * SEAM + 1,) * 2, np.uint8)) > 0
    source = cv2.erode(own.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    source &= ~cv2.dilate(near_arm.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    shade = np.zeros_like(fill) if shade is None else shade
    if (source & ~shade).any():
        source &= ~shade  # the jeans in the forearm's shadow are darker than the jeans it hid
    elif not source.any():
        source = own & ~fill
    return fill, mirror_rows(image, source, fill | (near_arm & own))


def arm_shadow(
    image: np.ndarray, labels: np.ndarray, body: tuple[int, ...], arms: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The `arms`' shadow on the `body` bones of labels (h, w) in image (h, w, 3) uint8, and the
    image with it lit: (shade (h, w) bool, lit (h, w, 3) uint8).

    The shadow is within ARM_SHADOW_REACH of an arm, joined to it, darker than the body just
    beyond that reach by ARM_SHADOW_DARKER and of its chromaticity (the same cloth in shadow; a
    black belt is another cloth). Left as photographed, it stays on the hip as a dark strip once
    the arm moves away; it is lit to the cloth's level beyond it, keeping its texture (redrawn
    from the row's cloth, a shirt's folds by the sleeve became jagged streaks).
    """
    arm, own = np.isin(labels, arms), np.isin(labels, body)
    shade = np.zeros(labels.shape, dtype=bool)
    if not arm.any() or not own.any():
        return shade, image
    rows = np.nonzero(own.any(axis=1) | arm.any(axis=1))[0]
    reach = max(2.0, ARM_SHADOW_REACH * float(np.ptp(rows) + 1))
    distance = cv2.distanceTransform((~arm).astype(np.uint8), cv2.DIST_L2, 5)
    beyond = (own & (distance > reach) & (distance <= 4 * reach)).astype(np.float32)
    rgb = image.astype(np.float32) + 1.0
    luma, chroma = rgb.mean(axis=2), rgb[..., :2] / rgb.sum(axis=2, keepdims=True)
    level = local_mean(luma, beyond, 2 * reach)
    cloth = local_mean(chroma, beyond, 2 * reach)
    shadow = own & (distance <= reach) & (cv2.GaussianBlur(beyond, (0, 0), 2 * reach) > 1e-3)
    shadow &= luma < (1 - ARM_SHADOW_DARKER) * level
    shadow &= np.abs(chroma - cloth).max(axis=2) < ARM_SHADOW_CHROMA
    shade = joined(shadow, arm)
    if not shade.any():
        return shade, image
    # the shadow's own light, smoothed, raised to the cloth's: its grain and folds stay
    gain = np.where(shade, level / np.maximum(local_mean(luma, shade, reach / 2), 1.0), 1.0)
    gain = cv2.GaussianBlur(np.clip(gain, 1.0, MAX_SHADOW_GAIN).astype(np.float32), (0, 0), 1.0)
    lit = np.clip(image.astype(np.float32) * gain[..., None] + 0.5, 0, 255).astype(np.uint8)
    return shade, np.where(own[..., None], lit, image)


def _beside(
    labels: np.ndarray, arms: tuple[int, ...], edge: np.ndarray, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """(hidden, free) (h,) bool: rows whose body edge column edge (h,) has an arm pixel, or the
    background, just beyond it on the left (side -1) or right (+1) inside the image."""
    height, width = labels.shape
    beyond = edge + side
    inside = (edge >= 0) & (edge < width) & (beyond >= 0) & (beyond < width)
    outside = labels[np.arange(height), np.clip(beyond, 0, width - 1)]
    return inside & np.isin(outside, arms), inside & (outside == -1)


def _bridged_edge(
    labels: np.ndarray,
    seen: np.ndarray,
    edge: np.ndarray,
    side: int,
    bridge: int,
    hidden: np.ndarray,
    free: np.ndarray,
) -> np.ndarray:
    """edge (h,) columns of the body's left (side -1) or right (+1) edge, on the rows where an
    arm lies against the seen edge (h,) (hidden (h,) bool), set from the body's free edge
    (meeting the background: free (h,) bool) nearby.

    A run of such rows at most `bridge` rows long runs straight between the free edge just
    above and just below it (hands on the hips): the median of ANCHOR_ROWS free rows on each
    side, so a finger labelled as body beside the run is no measure of the waist. Elsewhere a
    hidden leg row reaches at least as far out as the nearest free row whose edge is of the
    same bone (fingers over a thigh's edge hide where the thigh below them ends); a torso's
    free rows are its shoulders, no measure of its waist (`_mirrored_edges` finds that).
    """
    height, width = labels.shape
    has = (seen >= 0) & (seen < width)
    bone = np.where(has, labels[np.arange(height), np.clip(seen, 0, width - 1)], -1)
    runs, count = ndimage_label(hidden)
    edge = edge.copy()
    for run in range(1, count + 1):
        top, bottom = np.nonzero(runs == run)[0][[0, -1]]
        above = np.nonzero(free[:top])[0][-ANCHOR_ROWS:]
        below = bottom + 1 + np.nonzero(free[bottom + 1 :])[0][:ANCHOR_ROWS]
        if (
            bottom - top < bridge and above.size and below.size
            and top - above[-1] <= bridge and below[0] - bottom <= bridge
        ):  # fmt: skip
            ends = np.median(seen[above]), np.median(seen[below])
            edge[top : bottom + 1] = np.round(np.linspace(*ends, bottom - top + 1))
            continue
        for row in range(top, bottom + 1):
            if bone[row] == TORSO:  # its free rows are the shoulders: wider than a waist
                continue
            same = np.nonzero(free & (bone == bone[row]))[0]
            if same.size:
                nearest = seen[same[np.argmin(np.abs(same - row))]]
                edge[row] = max(edge[row], nearest) if side > 0 else min(edge[row], nearest)
    return edge


def _mirrored_edges(
    rows: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    spine: tuple[np.ndarray, np.ndarray],
    left_sides: tuple[np.ndarray, np.ndarray],
    right_sides: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """first, last (h,) columns of the body with, on each of `rows` where an arm lies against
    one edge and the other edge meets the background (left_sides, right_sides: `_beside`'s
    hidden and free rows of each edge), the hidden edge as far from the spine
    (points (x, y) from neck to hips) as the free one: an arm hanging down the body's side
    hides where the body ends. A free side wider than MIRROR_WIDTH typical half-widths (an arm
    the body carries, out to the frame's edge) is no measure of the body."""
    (x0, y0), (x1, y1) = spine
    centre = x0 + (rows - y0) * (x1 - x0) / max(y1 - y0, 1e-6)
    left, right = first[rows], last[rows]
    left_hidden, left_free = (side[rows] for side in left_sides)
    right_hidden, right_free = (side[rows] for side in right_sides)
    half_left, half_right = centre - left, right - centre
    free_halves = np.concatenate([half_left[left_free], half_right[right_free]])
    if not free_halves.size:
        return first, last
    typical = MIRROR_WIDTH * np.median(free_halves)
    grow_right = right_hidden & left_free & (half_left <= typical)
    grow_left = left_hidden & right_free & (half_right <= typical)
    first, last = first.copy(), last.copy()
    last[rows[grow_right]] = np.maximum(right, np.round(centre + half_left))[grow_right]
    first[rows[grow_left]] = np.minimum(left, np.round(centre - half_right))[grow_left]
    return first, last


def mirror_rows(image: np.ndarray, source: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """image (h, w, 3) with each fill (h, w) bool pixel copied from the source pixel mirrored
    across the nearest source pixel on its row (the edge pixel where the mirror leaves the
    source). Clothes run in horizontal bands: the waist a hand uncovers continues the skin, belt
    and jeans of its own row, where a fill from the whole body would copy jeans beside skin.
    Rows without a source pixel are inpainted (Telea) from the source alone."""
    width = source.shape[1]
    cols = np.arange(width)
    left = np.maximum.accumulate(np.where(source, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(source, cols, width)[:, ::-1], axis=1)[:, ::-1]
    rows, xs = np.nonzero(fill)
    near_left, near_right = left[rows, xs], right[rows, xs]
    found = (near_left >= 0) | (near_right < width)
    from_left = (near_left >= 0) & ((near_right >= width) | (xs - near_left <= near_right - xs))
    edge = np.where(from_left, near_left, near_right)
    mirrored = np.clip(2 * edge - xs, 0, width - 1)
    mirrored = np.where(source[rows, mirrored], mirrored, edge)
    out = image.copy()
    out[rows[found], xs[found]] = image[rows[found], mirrored[found]]
    if not found.all():
        telea = cv2.inpaint(image, (~source).astype(np.uint8), 5, cv2.INPAINT_TELEA)
        out[rows[~found], xs[~found]] = telea[rows[~found], xs[~found]]
    return out
