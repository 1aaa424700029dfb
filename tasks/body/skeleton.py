"""SMPL kinematic tree with EDGE's fixed bone offsets, forward kinematics and EDGE's 151-d layout.

Conventions (EDGE / AIST++): 24 SMPL joints, 30 fps, root translation in a z-up world in metres;
the root rotation already contains the +90 degree turn about X that stands SMPL's y-up body upright,
so an upright body facing forward has root rotation Rx(+90 deg) and faces world -Y.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

NUM_JOINTS = 24
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
# Bone offset of each joint from its parent, metres, in the parent's y-up rest frame (edge.md).
OFFSETS = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.05858135, -0.08228004, -0.01766408],
        [-0.06030973, -0.09051332, -0.01354254],
        [0.00443945, 0.12440352, -0.03838522],
        [0.04345142, -0.38646945, 0.008037],
        [-0.04325663, -0.38368791, -0.00484304],
        [0.00448844, 0.1379564, 0.02682033],
        [-0.01479032, -0.42687458, -0.037428],
        [0.01905555, -0.4200455, -0.03456167],
        [-0.00226458, 0.05603239, 0.00285505],
        [0.04105436, -0.06028581, 0.12204243],
        [-0.03483987, -0.06210566, 0.13032329],
        [-0.0133902, 0.21163553, -0.03346758],
        [0.07170245, 0.11399969, -0.01889817],
        [-0.08295366, 0.11247234, -0.02370739],
        [0.01011321, 0.08893734, 0.05040987],
        [0.12292141, 0.04520509, -0.019046],
        [-0.11322832, 0.04685326, -0.00847207],
        [0.2553319, -0.01564902, -0.02294649],
        [-0.26012748, -0.01436928, -0.03126873],
        [0.26570925, 0.01269811, -0.00737473],
        [-0.26910836, 0.00679372, -0.00602676],
        [0.08669055, -0.01063603, -0.01559429],
        [-0.0887537, -0.00865157, -0.01010708],
    ]
)
# DensePose part (1..24) -> the SMPL bone (start, end joint) that carries it. Hands and feet ride
# on their forearm and shin (their own bones are too short in 2D to give a direction); torso and
# head (1, 2, 23, 24) follow the spine.
DENSEPOSE_BONES = {
    15: (16, 18), 17: (16, 18), 16: (17, 19), 18: (17, 19),  # upper arms
    19: (18, 20), 21: (18, 20), 4: (18, 20), 20: (19, 21), 22: (19, 21), 3: (19, 21),  # forearms
    8: (1, 4), 10: (1, 4), 7: (2, 5), 9: (2, 5),  # upper legs
    12: (4, 7), 14: (4, 7), 11: (5, 8), 13: (5, 8), 5: (4, 7), 6: (5, 8),  # lower legs, feet
}  # fmt: skip
FOOT_JOINTS = (7, 8, 10, 11)  # left ankle, right ankle, left toe, right toe (EDGE contact order)
CONTACT_SPEED = 0.01  # m/frame: EDGE labels a foot joint in contact below this speed
UPRIGHT = Rotation.from_euler("x", 90, degrees=True)  # SMPL y-up body -> z-up world


def rotation_matrices(poses: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3)."""
    flat = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix()
    return flat.reshape(*poses.shape[:-1], 3, 3)


def unit(v: np.ndarray) -> np.ndarray:
    """Vectors (..., 3) scaled to length 1 (zero vectors stay zero)."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def align_vectors(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(..., 3, 3) smallest rotations taking directions v onto u (both (..., 3))."""
    v, u = unit(v), unit(u)
    axis = np.cross(v, u)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.arctan2(sin, np.sum(v * u, axis=-1, keepdims=True))
    # antiparallel: turn about any axis perpendicular to v
    other = np.cross(v, np.where(np.abs(v[..., :1]) < 0.9, [1.0, 0, 0], [0, 1.0, 0]))
    axis = np.where(sin > 1e-9, axis / np.maximum(sin, 1e-12), unit(other))
    flat = Rotation.from_rotvec((axis * angle).reshape(-1, 3)).as_matrix()
    return flat.reshape(*v.shape[:-1], 3, 3)


def forward_kinematics_matrices(
    local: np.ndarray, trans: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations (T,24,3,3) and joint positions (T,24,3) from local rotations (T,24,3,3)."""
    world_rot = np.empty_like(local)
    joints = np.empty((*local.shape[:2], 3))
    world_rot[:, 0] = local[:, 0]
    joints[:, 0] = trans
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        world_rot[:, j] = world_rot[:, p] @ local[:, j]
        joints[:, j] = joints[:, p] + world_rot[:, p] @ OFFSETS[j]
    return world_rot, joints


def forward_kinematics(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Joint positions (T,24,3), z-up world metres, from axis-angle poses (T,24,3), trans (T,3)."""
    return forward_kinematics_matrices(rotation_matrices(poses), trans)[1]


def matrix_to_6d(matrices: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): the first two rows (pytorch3d `matrix_to_rotation_6d`)."""
    return matrices[..., :2, :].reshape(*matrices.shape[:-2], 6)


def matrix_from_6d(d6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt on the two rows (pytorch3d convention)."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    b2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = b2 / np.linalg.norm(b2, axis=-1, keepdims=True)
    return np.stack([b1, b2, np.cross(b1, b2)], axis=-2)


def axis_angle_to_6d(poses: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 6) rows-convention 6D."""
    return matrix_to_6d(rotation_matrices(poses))


def axis_angle_from_6d(d6: np.ndarray) -> np.ndarray:
    """(..., 6) rows-convention 6D -> (..., 3) axis-angle with angles in [0, pi]."""
    mats = matrix_from_6d(d6)
    flat = Rotation.from_matrix(mats.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(*d6.shape[:-1], 3)


def foot_contacts(joints: np.ndarray) -> np.ndarray:
    """(T,4) float32 EDGE contact labels: speed of joints 7,8,10,11 to the next frame < 0.01 m."""
    feet = joints[:, FOOT_JOINTS]
    speed = np.zeros(feet.shape[:2])
    speed[:-1] = np.linalg.norm(feet[1:] - feet[:-1], axis=-1)
    return (speed < CONTACT_SPEED).astype(np.float32)


def to_motion151(poses: np.ndarray, trans: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(T,151) float32 unnormalised EDGE vector: contacts (4), root position (3), 24 x 6D."""
    rot6d = axis_angle_to_6d(poses).reshape(poses.shape[0], NUM_JOINTS * 6)
    return np.concatenate([foot_contacts(joints), trans, rot6d], axis=1).astype(np.float32)
