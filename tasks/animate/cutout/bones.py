"""2D bones of the cutout: which reference pixels ride on which bone, and how each bone moves.

The 24 SMPL joints (tasks.motion.skeleton.JOINT_NAMES) are grouped into 14 rigid-ish 2D bones,
each owning the DensePose parts drawn over it (tasks.render.body lists the part indices). Per
frame a bone maps its reference segment onto the driving segment (rotation, stretch along the
bone, the body's overall scale across it); the torso takes a least-squares affine of hips, neck
and shoulders; the head turns rigidly about the neck so the face keeps its shape (identity).
Near a joint the weights of the two bones blend linearly along the child bone (2D linear blend
skinning), so a bent elbow stretches instead of tearing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_BONES = 14
TORSO, HEAD = 0, 1


@dataclass(frozen=True)
class Bone:
    """start/end: joint indices; parts: DensePose parts; radius: thickness / shoulder width."""

    name: str
    start: int
    end: int
    parts: tuple[int, ...]
    parent: int
    radius: float
    priority: int  # draw order where the driving part map does not decide


BONES = (
    Bone("torso", 0, 12, (1, 2), -1, 0.55, 5),
    Bone("head", 12, 15, (23, 24), TORSO, 0.45, 13),
    Bone("left_upper_arm", 16, 18, (15, 17), TORSO, 0.2, 10),
    Bone("left_lower_arm", 18, 20, (19, 21), 2, 0.16, 11),
    Bone("left_hand", 20, 22, (4,), 3, 0.14, 12),
    Bone("right_upper_arm", 17, 19, (16, 18), TORSO, 0.2, 10),
    Bone("right_lower_arm", 19, 21, (20, 22), 5, 0.16, 11),
    Bone("right_hand", 21, 23, (3,), 6, 0.14, 12),
    Bone("left_upper_leg", 1, 4, (8, 10), TORSO, 0.26, 3),
    Bone("left_lower_leg", 4, 7, (12, 14), 8, 0.2, 4),
    Bone("left_foot", 7, 10, (5,), 9, 0.14, 4),
    Bone("right_upper_leg", 2, 5, (7, 9), TORSO, 0.26, 3),
    Bone("right_lower_leg", 5, 8, (11, 13), 11, 0.2, 4),
    Bone("right_foot", 8, 11, (6,), 12, 0.14, 4),
)
TORSO_JOINTS = (1, 2, 12, 16, 17)  # hips, neck, shoulders: the points the torso affine fits
HEAD_SCALE_RANGE = (0.8, 1.25)  # the head follows the body's scale only this far
STRETCH_RANGE = (0.35, 2.5)  # a limb's length ratio driving / reference is clipped to this


def part_to_bone() -> np.ndarray:
    """(25,) int8 lookup: DensePose part index -> bone index, -1 for background."""
    table = np.full(25, -1, dtype=np.int8)
    for index, bone in enumerate(BONES):
        table[list(bone.parts)] = index
    return table


def children(bone: int) -> list[int]:
    """Indices of the bones hanging from `bone`."""
    return [index for index, b in enumerate(BONES) if b.parent == bone]


def shoulder_width(joints: np.ndarray) -> float:
    """Pixels between the shoulders of joints (24, 2), at least 1."""
    return max(float(np.linalg.norm(joints[16] - joints[17])), 1.0)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (N,) from points (N, 2) to the segment a-b."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def label_points(points: np.ndarray, joints: np.ndarray, face_box: tuple) -> np.ndarray:
    """Bone index (N,) int8 for points (N, 2) x,y: the bone nearest in units of its thickness.

    joints (24, 2) is the reference skeleton; face_box (top, right, bottom, left) pins the face
    to the head bone. The head segment runs from the neck past the head joint to the crown.
    """
    unit = shoulder_width(joints)
    scores = np.empty((len(points), NUM_BONES), dtype=np.float32)
    for index, bone in enumerate(BONES):
        a, b = joints[bone.start], joints[bone.end]
        if index == HEAD:
            b = b + 0.8 * (b - a)
        scores[:, index] = _segment_distance(points, a, b) / (bone.radius * unit)
    labels = scores.argmin(axis=1).astype(np.int8)
    top, right, bottom, left = face_box
    in_face = (
        (points[:, 0] >= left) & (points[:, 0] <= right) & (points[:, 1] >= top)
        & (points[:, 1] <= bottom)
    )  # fmt: skip
    labels[in_face] = HEAD
    return labels


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def skin_weights(
    points: np.ndarray, labels: np.ndarray, joints: np.ndarray, *, overlap: float = 1.0
) -> np.ndarray:
    """Blend weights (N, 14) float32 rows summing to 1 for points (N, 2) bound to `labels` (N,).

    Around the joint J a child bone shares with its parent, along the child's direction u, the
    child's weight ramps as a = clip(1/2 + (x - J).u / (2 r)) (head: clip(1 + (x - J).u / r),
    so the whole face stays rigid), r = `overlap` x the child's thickness; the ramp fades out
    beyond 2 r from J. A point of either bone gets the same pair of weights at the seam.
    """
    unit = shoulder_width(joints)
    weights = np.zeros((len(points), NUM_BONES), dtype=np.float32)
    weights[np.arange(len(points)), labels] = 1.0
    for child, bone in enumerate(BONES):
        if bone.parent < 0:
            continue
        joint = joints[bone.start]
        radius = overlap * bone.radius * unit
        u = _unit(joints[bone.end] - joints[bone.start])
        rel = points - joint
        t = rel @ u
        if child == HEAD:
            a = np.clip(1.0 + t / radius, 0.0, 1.0)
        else:
            a = np.clip(0.5 + t / (2.0 * radius), 0.0, 1.0)
        fade = np.clip(2.0 - np.linalg.norm(rel, axis=1) / radius, 0.0, 1.0)
        on_child, on_parent = labels == child, labels == bone.parent
        move = np.where(on_child, fade * (1.0 - a), 0.0) + np.where(on_parent, -fade * a, 0.0)
        weights[:, bone.parent] += move
        weights[:, child] -= move
    return weights


def _affine_lstsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) affine minimising |A [src; 1] - dst|^2 for points (N, 2)."""
    design = np.concatenate([src, np.ones((len(src), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T


def _rotation(u: np.ndarray) -> np.ndarray:
    """(2, 2) rotation whose first column is the unit vector u."""
    return np.array([[u[0], -u[1]], [u[1], u[0]]])


def bone_transforms(
    reference: np.ndarray, driving: np.ndarray, widths: np.ndarray | None = None
) -> np.ndarray:
    """Per-frame affine (T, 14, 2, 3) taking reference pixels onto the driving pose.

    reference (24, 2) and driving (T, 24, 2) joints in pixels (x right, y down); widths (14,)
    scales each limb across its axis (from `width_ratios`; torso and head ignore it), default 1.
    """
    frames = len(driving)
    widths = np.ones(NUM_BONES) if widths is None else widths
    out = np.zeros((frames, NUM_BONES, 2, 3))
    torso_src = reference[list(TORSO_JOINTS)]
    for t in range(frames):
        torso = _affine_lstsq(torso_src, driving[t, list(TORSO_JOINTS)])
        scale = float(np.sqrt(abs(np.linalg.det(torso[:, :2]))))
        out[t, TORSO] = torso
        for index, bone in enumerate(BONES):
            if index == TORSO:
                continue
            a_ref, b_ref = reference[bone.start], reference[bone.end]
            a_drv, b_drv = driving[t, bone.start], driving[t, bone.end]
            rest, pose = b_ref - a_ref, b_drv - a_drv
            if index == HEAD:
                stretch = np.clip(scale, *HEAD_SCALE_RANGE) * np.ones(2)
            else:
                along = np.linalg.norm(pose) / max(float(np.linalg.norm(rest)), 1e-6)
                stretch = np.array([np.clip(along, *STRETCH_RANGE), scale * widths[index]])
            # rotate the reference bone frame onto the driving one, stretching along the bone
            linear = _rotation(_unit(pose)) @ np.diag(stretch) @ _rotation(_unit(rest)).T
            out[t, index, :, :2] = linear
            out[t, index, :, 2] = a_drv - linear @ a_ref
    return out.astype(np.float32)


def _half_width(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of points (N, 2) from the line a-b, over those in the bone's middle 70%."""
    axis = b - a
    length = max(float(np.linalg.norm(axis)), 1e-6)
    u = axis / length
    t = (points - a) @ u / length
    middle = (t > 0.15) & (t < 0.85)
    if middle.sum() < 20:
        return float("nan")
    return float(np.abs((points[middle] - a) @ np.array([-u[1], u[0]])).mean())


def width_ratios(
    reference: np.ndarray,
    ref_points: np.ndarray,
    ref_labels: np.ndarray,
    driving: np.ndarray,
    drv_points: np.ndarray,
    drv_labels: np.ndarray,
    clip: tuple[float, float] = (0.6, 1.25),
) -> np.ndarray:
    """(14,) driving / photo thickness of each limb at frame 0, so limbs fill the driving body.

    The photo's pixels ref_points (N, 2) with bones ref_labels (N,) are first carried to the
    frame-0 pose (driving (24, 2)); thickness is the mean distance from the bone axis. Limbs
    unseen in either keep 1, and so do the head (identity) and the torso: its width already
    follows the shoulders and hips, and narrowing it would bare the inpainted background.
    """
    moved = np.empty_like(ref_points)
    frame0 = bone_transforms(reference, driving[None])[0]
    for bone in range(NUM_BONES):
        sel = ref_labels == bone
        moved[sel] = ref_points[sel] @ frame0[bone, :, :2].T + frame0[bone, :, 2]
    ratios = np.ones(NUM_BONES)
    for index, bone in enumerate(BONES):
        if index in (TORSO, HEAD):
            continue
        a, b = driving[bone.start], driving[bone.end]
        photo = _half_width(moved[ref_labels == index], a, b)
        body = _half_width(drv_points[drv_labels == index], a, b)
        if np.isfinite(photo) and np.isfinite(body) and photo > 0:
            ratios[index] = np.clip(body / photo, *clip)
    return ratios


def deform(points: np.ndarray, weights: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Linear blend skinning: points (N, 2), weights (N, 14), transforms (14, 2, 3) -> (N, 2).

    The blend is linear in the transforms, so each point gets its blended affine (N, 2, 3).
    """
    blended = (weights @ transforms.reshape(NUM_BONES, 6)).reshape(-1, 2, 3)
    return (np.einsum("nij,nj->ni", blended[:, :, :2], points) + blended[:, :, 2]).astype(
        np.float32
    )
