"""Linear blend skinning (LBS) on top of tasks/motion's forward kinematics.

Conventions follow EDGE/SMPL (tasks/body/skeleton.py): `poses` (T, 24, 3) axis-angle local
rotations in SMPL joint order, `trans` (T, 3) the root position in the z-up world, metres. The root
rotation already contains Rx(+90deg), which maps SMPL's y-up rest frame to the z-up world, so no
extra rotation is applied here. Joints are posed with EDGE's fixed bone offsets, so they match
`motion/joints`; a body binds its vertices to its own rest joints (`Body.joints`).
"""

from __future__ import annotations

import numpy as np

from tasks.body.skeleton import OFFSETS, PARENTS, forward_kinematics_matrices, rotation_matrices


def rest_joints() -> np.ndarray:
    """Rest-pose joint positions (24, 3), SMPL y-up frame, root at the origin."""
    joints = np.zeros((len(PARENTS), 3))
    for j, parent in enumerate(PARENTS):
        joints[j] = OFFSETS[j] if parent < 0 else joints[parent] + OFFSETS[j]
    return joints


def global_transforms(poses: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World rotation (T, 24, 3, 3) and position (T, 24, 3) of every joint (EDGE's FK)."""
    poses = np.asarray(poses, dtype=np.float64)
    return forward_kinematics_matrices(rotation_matrices(poses), np.asarray(trans, np.float64))


def skin(
    vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray, rot: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """LBS: v' = sum_k w_k (R_k (v - J_k) + p_k). Returns (T, V, 3) float32.

    vertices (V, 3) and joints (24, 3) in the rest frame, weights (V, 24) rows summing to 1,
    rot (T, 24, 3, 3) and pos (T, 24, 3) from `global_transforms`.
    """
    # Per-joint affine map as (T, 24, 12): rows of [R_k | p_k - R_k J_k].
    offset = pos - np.einsum("tkij,kj->tki", rot, joints)
    affine = np.concatenate([rot, offset[..., None]], axis=-1).reshape(len(rot), -1, 12)
    blended = np.matmul(weights.astype(np.float32), affine.astype(np.float32))  # (T, V, 12)
    x, y, z = (vertices[:, i].astype(np.float32)[:, None] for i in range(3))
    posed = blended[..., 0:12:4] * x + blended[..., 1:12:4] * y + blended[..., 2:12:4] * z
    return posed + blended[..., 3:12:4]
