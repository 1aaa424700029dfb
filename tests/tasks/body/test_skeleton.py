"""Forward kinematics, 6D rotations and EDGE's 151-d layout."""

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import (
    OFFSETS,
    PARENTS,
    UPRIGHT,
    axis_angle_from_6d,
    axis_angle_to_6d,
    forward_kinematics,
    matrix_from_6d,
    to_motion151,
)


def _cumulative_offsets() -> np.ndarray:
    rest = np.zeros((24, 3))
    for j in range(1, 24):
        rest[j] = rest[PARENTS[j]] + OFFSETS[j]
    return rest


def test_zero_pose_is_the_offsets_rotated_by_the_root():
    rng = np.random.default_rng(0)
    root = Rotation.random(5, random_state=1)
    poses = np.zeros((5, 24, 3))
    poses[:, 0] = root.as_rotvec()
    trans = rng.normal(size=(5, 3))
    joints = forward_kinematics(poses, trans)
    expected = trans[:, None] + np.einsum("tij,kj->tki", root.as_matrix(), _cumulative_offsets())
    assert np.allclose(joints, expected, atol=1e-9)


def test_upright_rest_pose_stands_on_z_and_faces_minus_y():
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = UPRIGHT.as_rotvec()
    joints = forward_kinematics(poses, np.zeros((1, 3)))[0]
    assert joints[15, 2] > joints[0, 2] > joints[4, 2] > joints[7, 2]  # head, pelvis, knee, ankle
    assert joints[10, 1] < joints[7, 1] - 0.1  # toes point to -Y
    assert joints[16, 0] > 0 > joints[17, 0]  # left shoulder on +X


def test_6d_round_trip_and_rows_convention():
    rot = Rotation.random(200, random_state=2)
    d6 = axis_angle_to_6d(rot.as_rotvec())
    assert np.allclose(d6, rot.as_matrix()[:, :2, :].reshape(200, 6))
    assert np.allclose(matrix_from_6d(d6), rot.as_matrix(), atol=1e-9)
    back = Rotation.from_rotvec(axis_angle_from_6d(d6))
    assert np.allclose((back * rot.inv()).magnitude(), 0.0, atol=1e-7)
    skewed = d6 * 3.0 + np.concatenate([np.zeros((200, 3)), 0.2 * d6[:, :3]], axis=1)
    assert np.allclose(matrix_from_6d(skewed), rot.as_matrix(), atol=1e-9)  # Gram-Schmidt


def test_motion151_layout_and_contacts():
    t = 6
    poses = np.zeros((t, 24, 3))
    poses[:, 0] = UPRIGHT.as_rotvec()
    trans = np.zeros((t, 3))
    trans[3:, 0] = np.arange(3) * 0.05  # the body slides 5 cm/frame from frame 3 on
    joints = forward_kinematics(poses, trans)
    m = to_motion151(poses, trans, joints)
    assert m.shape == (t, 151) and m.dtype == np.float32
    assert np.array_equal(m[:, :4], np.array([[1] * 4] * 3 + [[0] * 4] * 2 + [[1] * 4]))
    assert np.allclose(m[:, 4:7], trans)
    assert np.allclose(m[:, 7:13], UPRIGHT.as_matrix()[:2].reshape(6))
    assert np.allclose(m[:, 13:19], np.eye(3)[:2].reshape(6))
