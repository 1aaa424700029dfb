"""Built-in body: labels, weights, skinning and forward kinematics."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import OFFSETS, forward_kinematics
from tasks.render.body import builtin_body, pose_body, pose_vertices
from tasks.render.skinning import global_transforms, rest_joints

UPRIGHT = np.array([np.pi / 2, 0.0, 0.0])  # Rx(+90): SMPL y-up body -> z-up world, facing -Y


@pytest.fixture(scope="module")
def body():
    return builtin_body()


def test_mesh_is_consistent(body):
    assert body.faces.min() >= 0 and body.faces.max() < len(body.vertices)
    assert body.face_parts.dtype == np.uint8
    assert set(np.unique(body.face_parts)) == set(range(1, 25))
    assert body.weights.shape == (len(body.vertices), 24)
    np.testing.assert_allclose(body.weights.sum(axis=1), 1.0, atol=1e-9)
    assert body.weights.min() >= 0.0


def test_left_parts_sit_on_plus_x(body):
    centroid_x = body.vertices[body.faces].mean(axis=1)[:, 0]
    for left, right in ((4, 3), (5, 6), (10, 9), (14, 13), (15, 16), (21, 22), (24, 23)):
        assert centroid_x[body.face_parts == left].mean() > 0.0
        assert centroid_x[body.face_parts == right].mean() < 0.0


def test_front_parts_face_plus_z(body):
    centroid_z = body.vertices[body.faces].mean(axis=1)[:, 2]
    for front, back in ((2, 1), (9, 7), (10, 8), (13, 11), (14, 12), (15, 17), (21, 19)):
        assert (
            centroid_z[body.face_parts == front].mean() > centroid_z[body.face_parts == back].mean()
        )


def test_upright_rest_pose_is_a_rotation_of_the_mesh(body):
    posed = pose_vertices(
        body, np.tile(UPRIGHT, (24, 1)) * (np.arange(24) == 0)[:, None], [1, 2, 3]
    )
    expected = Rotation.from_rotvec(UPRIGHT).apply(body.vertices) + [1, 2, 3]
    np.testing.assert_allclose(posed, expected, atol=1e-5)
    # Upright: head above feet, and the face (+z rest) points to -Y.
    assert posed[:, 2].max() - posed[:, 2].min() > 1.6


def test_forward_kinematics_matches_hand_computation():
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = UPRIGHT
    poses[0, 18] = [0.0, np.pi / 2, 0.0]  # bend the left elbow
    joints = rest_joints()
    _, pos = global_transforms(poses, np.zeros((1, 3)))
    root = Rotation.from_rotvec(UPRIGHT)
    elbow = root.apply(joints[18])
    wrist = elbow + (root * Rotation.from_rotvec(poses[0, 18])).apply(OFFSETS[20])
    np.testing.assert_allclose(pos[0, 18], elbow, atol=1e-9)
    np.testing.assert_allclose(pos[0, 20], wrist, atol=1e-9)


def test_skinning_follows_rigid_joints_and_blends_without_tearing(body):
    rng = np.random.default_rng(0)
    poses = rng.normal(0.0, 0.5, (3, 24, 3))
    trans = rng.normal(0.0, 1.0, (3, 3))
    verts, joints = pose_body(body, poses, trans)
    rot, pos = global_transforms(poses, trans)
    rigid = np.flatnonzero(body.weights[:, 4] == 1.0)  # left lower leg, away from both joints
    expected = (
        np.einsum("tij,vj->tvi", rot[:, 4], body.vertices[rigid] - body.joints[4]) + pos[:, 4, None]
    )
    np.testing.assert_allclose(verts[:, rigid], expected, atol=1e-4)
    np.testing.assert_allclose(joints, forward_kinematics(poses, trans), atol=1e-5)
    # Bent knees and elbows stretch edges smoothly (blend zones), no edge tears apart.
    bent = np.zeros((1, 24, 3))
    bent[0, [4, 5]] = [np.pi / 2, 0, 0]
    bent[0, [18, 19]] = [0, np.pi / 2, 0]
    posed = pose_vertices(body, bent, np.zeros((1, 3)))[0]
    edges = np.concatenate([body.faces[:, [0, 1]], body.faces[:, [1, 2]], body.faces[:, [2, 0]]])
    rest_len = np.linalg.norm(np.diff(body.vertices[edges], axis=1), axis=-1)
    posed_len = np.linalg.norm(np.diff(posed[edges], axis=1), axis=-1)
    assert posed_len.max() < 2.5 * rest_len.max()
