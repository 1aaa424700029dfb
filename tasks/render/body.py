"""A skinned body mesh whose faces carry DensePose part labels, and a built-in one needing no files.

`Body` is the plug-in point: a real SMPL mesh (6,890 vertices, 13,776 faces, skinning weights from
smplx, parts from DensePose's UV_Processed.mat or from the weights plus front/back splits) fits the
same fields. The built-in body is made of capsule-like tubes (torso, neck, head, upper/lower arms,
hands, upper/lower legs, feet) around EDGE's rest skeleton (SMPL T-pose, y-up, faces +z, SMPL
"left" = the body's left = +x).

DensePose part indices (detectron2 DensePose; names as in DensePose's `densepose_methods` list):
1 torso back, 2 torso front, 3 right hand, 4 left hand, 5 left foot, 6 right foot,
7/8 right/left upper leg back, 9/10 right/left upper leg front,
11/12 right/left lower leg back, 13/14 right/left lower leg front,
15/16 left/right upper arm front, 17/18 left/right upper arm back,
19/20 left/right lower arm back, 21/22 left/right lower arm front, 23 head right, 24 head left.
"Front" means the side facing the body's forward direction (+z in the rest frame), split by the
plane through the limb axis; note the arm pairs run front-then-back for the upper arm but
back-then-front for the lower arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tasks.body.skeleton import PARENTS
from tasks.render.skinning import global_transforms, rest_joints, skin

NUM_JOINTS = 24
NUM_PARTS = 24


@dataclass(frozen=True)
class Body:
    """Rest-pose skinned mesh in SMPL's y-up body frame (metres).

    vertices (V, 3) float, faces (F, 3) int32, face_parts (F,) uint8 in 1..24, weights (V, 24) rows
    summing to 1, joints (24, 3) rest joint positions the weights are bound to.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_parts: np.ndarray
    weights: np.ndarray
    joints: np.ndarray


def pose_body(body: Body, poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posed vertices (T, V, 3) and joints (T, 24, 3) in the z-up world.

    poses (T, 24, 3) axis-angle, trans (T, 3) root position in metres.
    """
    rot, pos = global_transforms(poses, trans)
    return skin(body.vertices, body.weights, body.joints, rot, pos), pos.astype(np.float32)


def pose_vertices(body: Body, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Posed vertices: (V, 3) for poses (24, 3) + trans (3,), or (T, V, 3) for a batch."""
    poses, trans = np.asarray(poses), np.asarray(trans)
    if poses.ndim == 2:
        return pose_body(body, poses[None], trans[None])[0][0]
    return pose_body(body, poses, trans)[0]


# ---------------------------------------------------------------------------------------------
# Built-in body: tubes with hemispherical caps.


@dataclass(frozen=True)
class _Tube:
    """Geometry of one tube; `radii` are (t, r_side, r_front) knots along the axis, t in [0, 1]."""

    start: np.ndarray
    end: np.ndarray
    radii: tuple[tuple[float, float, float], ...]
    front: tuple[float, float, float] = (0.0, 0.0, 1.0)  # direction of the "front" radius
    cap: float = 1.0  # cap length as a fraction of the mean radius


def _tube_mesh(
    tube: _Tube, n_around: int, spacing: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (N, 3), faces (M, 3), axial coordinate (N,) in metres, face radial dirs (M, 3)."""
    axis = tube.end - tube.start
    length = float(np.linalg.norm(axis))
    d = axis / length
    w = np.asarray(tube.front, dtype=float)
    w = w - d * (w @ d)
    w /= np.linalg.norm(w)
    u = np.cross(w, d)  # (u, w, d) right-handed, so ring order gives outward normals
    knots = np.asarray(tube.radii, dtype=float)
    cap_len = tube.cap * float(knots[:, 1:].mean())

    # 1. Rings: (axial position x, radius scale k); caps are quarter circles, poles added apart.
    n_cap = max(2, int(np.ceil(cap_len * np.pi / 2 / spacing)))
    n_body = max(1, int(np.ceil(length / spacing)))
    phi = np.linspace(0.0, np.pi / 2, n_cap + 1)[1:]
    xs = np.concatenate(
        [
            -cap_len * np.cos(phi),
            np.linspace(0, length, n_body + 1)[1:-1],
            length + cap_len * np.cos(phi[::-1]),
        ]
    )
    ks = np.concatenate([np.sin(phi), np.ones(n_body - 1), np.sin(phi[::-1])])

    # 2. Vertices: ring vertices then the two poles.
    t = np.clip(xs / length, 0.0, 1.0)
    r_side = np.interp(t, knots[:, 0], knots[:, 1]) * ks
    r_front = np.interp(t, knots[:, 0], knots[:, 2]) * ks
    theta = np.linspace(0.0, 2 * np.pi, n_around, endpoint=False)
    radial = (
        r_side[:, None, None] * np.cos(theta)[None, :, None] * u
        + r_front[:, None, None] * np.sin(theta)[None, :, None] * w
    )  # (rings, n_around, 3)
    rings = tube.start + xs[:, None, None] * d + radial
    poles = np.stack([tube.start - cap_len * d, tube.end + cap_len * d])
    vertices = np.concatenate([rings.reshape(-1, 3), poles])
    axial = np.concatenate([np.repeat(xs, n_around), [-cap_len, length + cap_len]])
    directions = np.concatenate([radial.reshape(-1, 3), [-d, d]])

    # 3. Faces: quads between rings, fans at the poles.
    n_rings = len(xs)
    idx = np.arange(n_rings * n_around).reshape(n_rings, n_around)
    a, b = idx[:-1], np.roll(idx[:-1], -1, axis=1)
    c, e = idx[1:], np.roll(idx[1:], -1, axis=1)
    quads = np.concatenate([np.stack([a, b, c], -1), np.stack([b, e, c], -1)]).reshape(-1, 3)
    first, last = idx[0], idx[-1]
    pole0, pole1 = n_rings * n_around, n_rings * n_around + 1
    fan0 = np.stack([np.full(n_around, pole0), np.roll(first, -1), first], -1)
    fan1 = np.stack([np.full(n_around, pole1), last, np.roll(last, -1)], -1)
    faces = np.concatenate([quads, fan0, fan1]).astype(np.int32)
    face_dirs = directions[faces].mean(axis=1)
    return vertices, faces, axial, face_dirs


def _chain_weights(
    axial: np.ndarray, length: float, drive: int, parent: int | None, child: int | None
) -> np.ndarray:
    """(N, 24) weights: `drive` in the middle, fading 50/50 into the neighbours at both joints."""
    zone = min(0.08, 0.4 * length)
    x = np.clip(axial, 0.0, length)
    weights = np.zeros((len(axial), NUM_JOINTS))
    w_parent = 0.5 * np.clip(1.0 - x / zone, 0.0, 1.0) if parent is not None else 0.0
    w_child = 0.5 * np.clip((x - (length - zone)) / zone, 0.0, 1.0) if child is not None else 0.0
    if parent is not None:
        weights[:, parent] = w_parent
    if child is not None:
        weights[:, child] = w_child
    weights[:, drive] = 1.0 - w_parent - w_child
    return weights


def _spine_weights(heights: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 24) torso weights: piecewise-linear in height over the spine joints 0-3-6-9-12."""
    spine = [0, 3, 6, 9, 12]
    knots = joints[spine, 1]
    weights = np.zeros((len(heights), NUM_JOINTS))
    for i, j in enumerate(spine):
        hat = np.zeros(len(spine))
        hat[i] = 1.0
        weights[:, j] = np.interp(heights, knots, hat)
    return weights


def _front_back(front: int, back: int) -> Callable[[np.ndarray], np.ndarray]:
    """Part labeller splitting a segment by the sign of the face direction's z (forward)."""
    return lambda dirs: np.where(dirs[:, 2] > 0, front, back)


def _left_right(left: int, right: int) -> Callable[[np.ndarray], np.ndarray]:
    """Part labeller splitting by the sign of x (SMPL +x is the body's left)."""
    return lambda dirs: np.where(dirs[:, 0] > 0, left, right)


def _single(part: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda dirs: np.full(len(dirs), part)


def builtin_body(n_around: int = 20, spacing: float = 0.03) -> Body:
    """The built-in articulated body on EDGE's rest skeleton.

    n_around: vertices per ring; spacing: ring spacing in metres. The defaults give 8,800 faces;
    `builtin_body(24, 0.023)` gives 14,160, about SMPL's 13,776.
    """
    j = rest_joints()
    up = (0.0, 1.0, 0.0)
    segments: list[tuple[_Tube, int | None, int | None, int | None, Callable]] = []

    def limb(a: int, b: int, r0: float, r1: float, label: Callable) -> None:
        """Tube from joint a to its child b, driven by a, blended into a's parent and b."""
        segments.append(
            (_Tube(j[a], j[b], ((0.0, r0, r0), (1.0, r1, r1))), a, PARENTS[a], b, label)
        )

    # Torso: pelvis bottom to the base of the neck, an elliptic cross-section (side x, front z);
    # skinned along the spine (drive None).
    torso = _Tube(
        np.array([0.0, -0.11, -0.01]),
        np.array([0.0, 0.47, -0.035]),
        ((0.0, 0.14, 0.095), (0.35, 0.13, 0.09), (0.75, 0.155, 0.105), (1.0, 0.165, 0.09)),
        cap=0.5,
    )
    segments.append((torso, None, None, None, _front_back(2, 1)))
    neck = _Tube(j[12] - [0, 0.04, 0], j[15], ((0.0, 0.055, 0.055), (1.0, 0.05, 0.05)))
    segments.append((neck, 12, 9, 15, _left_right(24, 23)))
    head = _Tube(
        j[15] + [0, 0, 0.015], j[15] + [0, 0.1, 0.005], ((0, 0.078, 0.095), (1, 0.078, 0.095))
    )
    segments.append((head, 15, 12, None, _left_right(24, 23)))
    # Legs (left = SMPL joints 1, 4, 7; right = 2, 5, 8).
    limb(1, 4, 0.085, 0.06, _front_back(10, 8))
    limb(2, 5, 0.085, 0.06, _front_back(9, 7))
    limb(4, 7, 0.055, 0.04, _front_back(14, 12))
    limb(5, 8, 0.055, 0.04, _front_back(13, 11))
    for ankle, toe, part in ((7, 10, 5), (8, 11, 6)):
        heel, tip = j[ankle] + [0, -0.045, -0.05], j[toe] + [0, -0.01, 0.04]
        foot = _Tube(heel, tip, ((0.0, 0.04, 0.035), (1.0, 0.045, 0.025)), front=up)
        segments.append((foot, ankle, None, toe, _single(part)))
    # Arms (left = 16, 18, 20; right = 17, 19, 21).
    limb(16, 18, 0.05, 0.04, _front_back(15, 17))
    limb(17, 19, 0.05, 0.04, _front_back(16, 18))
    limb(18, 20, 0.04, 0.03, _front_back(21, 19))
    limb(19, 21, 0.04, 0.03, _front_back(22, 20))
    for wrist, tip, part in ((20, 22, 4), (21, 23, 3)):
        end = j[tip] + 0.6 * (j[tip] - j[wrist])  # fingertips beyond SMPL's hand joint
        hand = _Tube(j[wrist], end, ((0.0, 0.025, 0.04), (1.0, 0.018, 0.045)))
        segments.append((hand, wrist, PARENTS[wrist], None, _single(part)))

    # Assemble.
    vertices, faces, parts, weights, base = [], [], [], [], 0
    for tube, drive, parent, child, label in segments:
        v, f, axial, dirs = _tube_mesh(tube, n_around, spacing)
        if drive is None:
            weights.append(_spine_weights(v[:, 1], j))
        else:
            length = float(np.linalg.norm(tube.end - tube.start))
            weights.append(_chain_weights(axial, length, drive, parent, child))
        vertices.append(v)
        faces.append(f + base)
        parts.append(label(dirs))
        base += len(v)
    return Body(
        vertices=np.concatenate(vertices),
        faces=np.concatenate(faces).astype(np.int32),
        face_parts=np.concatenate(parts).astype(np.uint8),
        weights=np.concatenate(weights),
        joints=j,
    )
