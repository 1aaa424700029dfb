"""Foot-contact cleanup: planted feet are pinned in place by two-bone leg IK.

Transitions, time warps and the framing limits move the root under a foot that the capture had
planted, so the foot would skate. Each run of frames in which an ankle is low and slow is pinned
to its mean ground position (ramped in and out), and hip and knee are solved analytically to
reach it while the ankle keeps its world orientation (the foot stays flat).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import align_vectors, forward_kinematics_matrices, unit

CONTACT_HEIGHT = 0.05  # m above the ankle's lowest height in the clip
CONTACT_SPEED = 0.03  # m/frame (0.9 m/s at 30 fps): faster ground motion is a deliberate slide
RAMP = 4  # frames over which a pin fades in before and out after its contact run
_LEGS = ((1, 4, 7), (2, 5, 8))  # (hip, knee, ankle) left and right


def pin_targets(ankle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pinned ground positions (T,2) and pin weights (T,) in [0, 1] for one ankle track (T,3)."""
    speed = np.zeros(len(ankle))
    speed[1:] = np.linalg.norm(np.diff(ankle[:, :2], axis=0), axis=-1)
    contact = (ankle[:, 2] < ankle[:, 2].min() + CONTACT_HEIGHT) & (speed < CONTACT_SPEED)
    contact[1:-1] |= contact[:-2] & contact[2:]  # bridge one-frame gaps
    edges = np.diff(np.concatenate([[0], contact.astype(int), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    weight = np.zeros(len(ankle))
    target = ankle[:, :2].copy()
    frames = np.arange(len(ankle))
    for s, e in zip(starts, ends, strict=True):
        anchor = ankle[s:e, :2].mean(axis=0)
        lo, hi = max(s - RAMP, 0), min(e + RAMP, len(ankle))
        ramp = np.clip(
            np.minimum(frames[lo:hi] - (s - RAMP - 1), (e + RAMP) - frames[lo:hi]) / (RAMP + 1),
            0.0,
            1.0,
        )
        w = ramp * ramp * (3.0 - 2.0 * ramp)
        better = w > weight[lo:hi]
        weight[lo:hi][better] = w[better]
        target[lo:hi][better] = anchor
    return target, weight


def plant_feet(local: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Local rotations (T,24,3,3) with hips, knees and ankles solved so planted feet stay put."""
    local = local.copy()
    world, joints = forward_kinematics_matrices(local, trans)
    for hip, knee, ankle in _LEGS:
        target_xy, weight = pin_targets(joints[:, ankle])
        f = np.nonzero(weight > 0)[0]
        if f.size == 0:
            continue
        h, k, a = joints[f, hip], joints[f, knee], joints[f, ankle]
        goal = a.copy()
        goal[:, :2] += weight[f, None] * (target_xy[f] - a[:, :2])
        thigh = np.linalg.norm(k - h, axis=-1)
        shin = np.linalg.norm(a - k, axis=-1)
        reach = np.clip(
            np.linalg.norm(goal - h, axis=-1), np.abs(thigh - shin) + 1e-3, thigh + shin - 1e-3
        )
        # 1. knee: change the bend so hip-to-ankle distance becomes `reach` (law of cosines)
        inner = np.arccos(np.clip(((h - k) * (a - k)).sum(-1) / (thigh * shin), -1.0, 1.0))
        wanted = np.arccos(np.clip((thigh**2 + shin**2 - reach**2) / (2 * thigh * shin), -1, 1))
        normal = np.cross(k - h, a - k)
        straight = np.linalg.norm(normal, axis=-1) < 1e-6
        normal[straight] = world[f, knee][straight][:, :, 0]  # SMPL knees hinge about local x
        bend = Rotation.from_rotvec(unit(normal) * (inner - wanted)[:, None]).as_matrix()
        moved = k + np.einsum("nij,nj->ni", bend, a - k)
        # 2. hip: swing the leg so the ankle lands on the goal
        swing = align_vectors(moved - h, goal - h)
        new_hip = swing @ world[f, hip]
        new_knee = swing @ bend @ world[f, knee]
        local[f, hip] = np.swapaxes(world[f, 0], -1, -2) @ new_hip
        local[f, knee] = np.swapaxes(new_hip, -1, -2) @ new_knee
        local[f, ankle] = np.swapaxes(new_knee, -1, -2) @ world[f, ankle]
    return local
