"""Triangle mesh of the cutout, one sheet per bone, and a rasterizer that warps it per frame.

Each bone gets its own sheet of grid triangles covering its pixels (grown by one cell), with its
own copy of the vertices: where two unrelated bones touch (an arm hanging beside the torso) their
sheets part instead of smearing. A sheet draws only the reference pixels its bone owns (bits per
bone in `owners`: the pixel's own bone, and beneath every sheet the torso or leg under an arm
lying across it), so seams follow the pixel labels, not the grid. Where sheets overlap on
screen, the one whose bone the driving part map shows at that photo point's place in the driving
frame wins (the near arm over the torso), else the higher static priority.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from tasks.animate.cutout.bones import (
    BONES,
    NUM_BONES,
    children,
    label_points,
    shoulder_width,
    skin_weights,
)

DRIVING_BONUS = 100  # priority added where the driving part map shows the sheet's bone
UNDERLAY_SHIFT = 16  # owners bit 16 + b: bone b draws the pixel beneath every sheet (underlay)


@dataclass(frozen=True)
class CutoutMesh:
    """rest (V, 2) and weights (V, 14) per vertex; triangles (F, 3); bone (F,) per triangle."""

    rest: np.ndarray
    weights: np.ndarray
    triangles: np.ndarray
    bone: np.ndarray


def _cell_mask(region: np.ndarray, step: int, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) bool: grid cells of size `step` touching `region` (h, w), grown by a cell."""
    height, width = region.shape
    padded = np.zeros((rows * step, cols * step), dtype=bool)
    padded[:height, :width] = region
    cells = padded.reshape(rows, step, cols, step).any(axis=(1, 3))
    grown = cells.copy()
    grown[1:] |= cells[:-1]
    grown[:-1] |= cells[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    return grown


def _assumed_labels(
    bone: int, labels: np.ndarray, points: np.ndarray, joints: np.ndarray, unit: float
) -> np.ndarray:
    """Labels a sheet's vertices skin with: their own, if of a bone joined to `bone` near the
    shared joint, else `bone` itself (a sheet never rides on an unrelated bone)."""
    out = np.full(len(labels), bone, dtype=np.int8)
    kin = [(BONES[bone].parent, bone)] if BONES[bone].parent >= 0 else []
    kin += [(bone, child) for child in children(bone)]
    for parent, child in kin:
        other = child if parent == bone else parent
        near = np.linalg.norm(points - joints[BONES[child].start], axis=1)
        keep = (labels == other) & (near < 2.0 * BONES[child].radius * unit)
        out[keep] = other
    return out


def owner_bits(labels: np.ndarray, underlay: np.ndarray) -> np.ndarray:
    """(h, w) uint32: bit b set where bone b's sheet draws the pixel of labels (h, w) int8 (-1
    off the person), bit UNDERLAY_SHIFT + b where it draws it beneath every sheet, for underlay
    (h, w) int8: the body bone carrying what a limb hides there (-1 none)."""
    owners = np.zeros(labels.shape, dtype=np.uint32)
    for bits, bones in ((0, labels), (UNDERLAY_SHIFT, underlay)):
        shift = (np.maximum(bones, 0) + bits).astype(np.uint32)  # int8 would overflow
        owners |= np.where(bones >= 0, np.left_shift(np.uint32(1), shift), np.uint32(0))
    return owners


def build_mesh(owners: np.ndarray, joints: np.ndarray, face_box: tuple, step: int) -> CutoutMesh:
    """Sheets over the pixels each bone owns (owners (h, w) uint32 bits), grid cells `step` px."""
    height, width = owners.shape
    rows, cols = -(-height // step), -(-width // step)
    gy, gx = np.mgrid[0 : rows + 1, 0 : cols + 1]
    grid = np.stack([gx * step, gy * step], axis=-1).reshape(-1, 2).astype(np.float32)
    grid_labels = label_points(grid, joints, face_box)
    unit = shoulder_width(joints)
    rest, weights, triangles, tri_bone = [], [], [], []
    offset = 0
    for bone in range(NUM_BONES):
        drawn = (owners >> bone) & 1 | (owners >> (UNDERLAY_SHIFT + bone)) & 1
        cells = _cell_mask(drawn > 0, step, rows, cols)
        if not cells.any():
            continue
        r, c = np.nonzero(cells)
        corners = np.stack(
            [r * (cols + 1) + c, r * (cols + 1) + c + 1, (r + 1) * (cols + 1) + c + 1,
             (r + 1) * (cols + 1) + c],
            axis=1,
        )  # fmt: skip
        used, local = np.unique(corners, return_inverse=True)
        local = local.reshape(-1, 4) + offset
        points = grid[used]
        labels = _assumed_labels(bone, grid_labels[used], points, joints, unit)
        rest.append(points)
        weights.append(skin_weights(points, labels, joints))
        triangles.append(np.concatenate([local[:, [0, 1, 2]], local[:, [0, 2, 3]]]))
        tri_bone.append(np.full(2 * len(local), bone, dtype=np.int8))
        offset += len(used)
    if not rest:
        raise ValueError("the person mask is empty: nothing to mesh")
    return CutoutMesh(
        rest=np.concatenate(rest),
        weights=np.concatenate(weights),
        triangles=np.concatenate(triangles).astype(np.int32),
        bone=np.concatenate(tri_bone),
    )


@njit(cache=True)
def _raster(
    screen: np.ndarray,
    rest: np.ndarray,
    triangles: np.ndarray,
    tri_bone: np.ndarray,
    owners: np.ndarray,
    driving_bones: np.ndarray,
    drive: np.ndarray,
    priority: np.ndarray,
    map_x: np.ndarray,
    map_y: np.ndarray,
    sheet: np.ndarray,
) -> None:
    height, width = map_x.shape
    best = np.full((height, width), -1, dtype=np.int32)
    for f in range(triangles.shape[0]):
        i0, i1, i2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
        x0, y0 = screen[i0, 0], screen[i0, 1]
        x1, y1 = screen[i1, 0], screen[i1, 1]
        x2, y2 = screen[i2, 0], screen[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-9:
            continue
        lo_x = max(int(np.ceil(min(x0, x1, x2))), 0)
        hi_x = min(int(np.floor(max(x0, x1, x2))), width - 1)
        lo_y = max(int(np.ceil(min(y0, y1, y2))), 0)
        hi_y = min(int(np.floor(max(y0, y1, y2))), height - 1)
        bone = tri_bone[f]
        for y in range(lo_y, hi_y + 1):
            for x in range(lo_x, hi_x + 1):
                w0 = ((x1 - x) * (y2 - y) - (x2 - x) * (y1 - y)) / area
                w1 = ((x2 - x) * (y0 - y) - (x0 - x) * (y2 - y)) / area
                w2 = 1.0 - w0 - w1
                if w0 < -1e-6 or w1 < -1e-6 or w2 < -1e-6:
                    continue
                if priority[bone] + DRIVING_BONUS <= best[y, x]:
                    continue
                sx = w0 * rest[i0, 0] + w1 * rest[i1, 0] + w2 * rest[i2, 0]
                sy = w0 * rest[i0, 1] + w1 * rest[i1, 1] + w2 * rest[i2, 1]
                col, row = int(sx + 0.5), int(sy + 0.5)
                if row < 0 or col < 0 or row >= height or col >= width:
                    continue
                own = (owners[row, col] >> bone) & 1
                if own == 0 and (owners[row, col] >> (UNDERLAY_SHIFT + bone)) & 1 == 0:
                    continue
                if own == 0:
                    rank = 0  # an underlay fills gaps only, below every sheet
                else:
                    # the driving body at this photo point's place in the driving frame decides
                    dx = drive[bone, 0, 0] * sx + drive[bone, 0, 1] * sy + drive[bone, 0, 2]
                    dy = drive[bone, 1, 0] * sx + drive[bone, 1, 1] * sy + drive[bone, 1, 2]
                    qx, qy = int(dx), int(dy)
                    shown = 0 <= qx < width and 0 <= qy < height and driving_bones[qy, qx] == bone
                    rank = priority[bone] + (DRIVING_BONUS if shown else 0)
                if rank <= best[y, x]:
                    continue
                best[y, x] = rank
                map_x[y, x] = sx
                map_y[y, x] = sy
                sheet[y, x] = bone


def warp_maps(
    mesh: CutoutMesh,
    screen: np.ndarray,
    owners: np.ndarray,
    driving_bones: np.ndarray,
    drive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2.remap maps (h, w) float32 each (the reference pixel shown at each output pixel, -1
    none) and the bone whose sheet drew it (h, w) int8, -1 none.

    screen (V, 2) deformed vertex positions; driving_bones (h, w) int8 bone per driving pixel;
    drive (14, 2, 3) takes photo pixels of each bone to the driving frame, where driving_bones
    is looked up (the drawn pose differs from it: photo proportions, framing).
    """
    map_x = np.full(owners.shape, -1.0, dtype=np.float32)
    map_y = np.full(owners.shape, -1.0, dtype=np.float32)
    sheet = np.full(owners.shape, -1, dtype=np.int8)
    priority = np.array([bone.priority for bone in BONES], dtype=np.int32)
    _raster(
        np.ascontiguousarray(screen, dtype=np.float32),
        mesh.rest,
        mesh.triangles,
        mesh.bone,
        owners,
        driving_bones,
        np.ascontiguousarray(drive, dtype=np.float32),
        priority,
        map_x,
        map_y,
        sheet,
    )
    return map_x, map_y, sheet
