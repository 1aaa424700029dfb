"""Motion metrics against values worked out by hand on tiny synthetic motions."""

import math
import os
import pickle

import numpy as np
import pytest

from tasks.base import InputError
from tasks.body.skeleton import forward_kinematics
from tasks.evaluate.motion import (
    diversity,
    foot_skating_ratio,
    frechet_distance,
    geometric_features,
    kinetic_features,
    mean_jerk,
    physical_foot_contact,
)
from tasks.evaluate.reference import clip_joints, load_reference_set
from tasks.evaluate.task import motion_metrics
from tests.stage_params import stage_params

FPS = 30.0
SKATING = {k: stage_params("evaluate")[k] for k in ("contact_height", "skate_speed")}
PERIOD = 30  # frames between motion beats


def pulsing_joints(num_frames: int = 300) -> np.ndarray:
    """All joints glide along +x with speed 1 - cos(2 pi t / PERIOD): zero (a beat) every PERIOD."""
    step = 0.01 * (1.0 - np.cos(2 * np.pi * np.arange(num_frames - 1) / PERIOD))
    x = np.concatenate([[0.0], np.cumsum(step)])
    joints = np.zeros((num_frames, 24, 3))
    joints[..., 0] = x[:, None]
    return joints


def bas(joints: np.ndarray, beats_s: np.ndarray) -> float:
    return motion_metrics(joints, beats_s, FPS, contact_height=0.05, skate_speed=0.75)["bas"]


def test_bas_is_one_on_the_beat_and_falls_as_beats_drift():
    joints = pulsing_joints()
    on_beat = np.arange(1, 10) * PERIOD / FPS  # seconds
    assert bas(joints, on_beat) == pytest.approx(1.0)
    drifted = [bas(joints, on_beat + d / FPS) for d in (3, 6, 9)]
    # nearest motion beat is d frames away: exp(-d^2 / 18)
    assert drifted == pytest.approx([math.exp(-9 / 18), math.exp(-36 / 18), math.exp(-81 / 18)])


def test_pfc_is_zero_for_a_root_at_rest_even_with_sliding_feet():
    joints = np.zeros((20, 24, 3))
    joints[:, [7, 8, 10, 11], 0] = np.arange(20)[:, None] * 0.05
    assert physical_foot_contact(joints, FPS) == 0.0
    joints[:, 0, 0] = np.linspace(0.0, 1.0, 20, dtype=np.float32)  # constant velocity, rounded
    assert physical_foot_contact(joints.astype(np.float32), FPS) == 0.0


def test_pfc_hand_computed():
    joints = np.zeros((4, 24, 3))
    joints[:, 0, 0] = [
        0.0,
        0.0,
        0.1,
        0.3,
    ]  # root accel 90 m/s^2 on both inner frames -> 1 after /max
    for joint, per_frame in ((7, 0.02), (10, 0.01), (8, 0.03), (11, 0.04)):
        joints[:, joint, 0] = np.arange(4) * per_frame
    # min(L) * min(R) * 1 = 0.01 * 0.03 on both frames, x 10^4
    assert physical_foot_contact(joints, FPS) == pytest.approx(3.0)


def test_pfc_ignores_downward_root_acceleration():
    joints = np.zeros((4, 24, 3))
    joints[:, 0, 2] = [0.0, 0.0, -0.1, -0.3]  # falling faster and faster: clamped to 0
    joints[:, [7, 8, 10, 11], 0] = np.arange(4)[:, None] * 0.02
    assert physical_foot_contact(joints, FPS) == 0.0
    joints[:, 0, 2] *= -1  # rising: counts
    assert physical_foot_contact(joints, FPS) == pytest.approx(0.02 * 0.02 * 1e4)


def test_foot_skating_ratio():
    joints = np.zeros((10, 24, 3))
    assert foot_skating_ratio(joints, FPS, **SKATING) == 0.0  # planted feet
    joints[:, 7, 0] = np.arange(10) * 0.05  # left ankle slides 1.5 m/s on the ground
    assert foot_skating_ratio(joints, FPS, **SKATING) == 1.0
    joints[5:, 7, 2] = 0.3  # lifted for the second half: only the 4 grounded steps skate
    assert foot_skating_ratio(joints, FPS, **SKATING) == pytest.approx(4 / 9)


def test_mean_jerk_of_a_cubic_is_six():
    t = np.arange(12) / FPS
    joints = np.zeros((12, 24, 3))
    joints[..., 0] = (t**3)[:, None]
    assert mean_jerk(joints, FPS) == pytest.approx(6.0)


def test_kinetic_features_constant_velocity():
    joints = np.zeros((10, 24, 3))
    joints[..., 0] = np.arange(10)[:, None] * 0.1  # 3 m/s horizontally
    joints[:, 5, 2] = np.arange(10) * 0.02  # joint 5 also rises at 0.6 m/s
    k = kinetic_features(joints, FPS).reshape(24, 3)
    assert k[:, 0] == pytest.approx(np.full(24, 9.0), rel=1e-5)
    assert k[5, 1] == pytest.approx(0.36, rel=1e-5) and k[0, 1] == 0.0
    assert k[:, 2] == pytest.approx(np.zeros(24), abs=1e-3)


def test_geometric_features_of_a_still_upright_body():
    rest = np.zeros((5, 24, 3))
    rest[:, 0] = [np.pi / 2, 0.0, 0.0]  # SMPL y-up body stood up in the z-up world
    g = geometric_features(forward_kinematics(rest, np.tile([0.0, 0.0, 0.9], (5, 1))))
    assert g.shape == (32,)
    assert set(np.unique(g)) <= {0.0, 1.0}
    assert g[[12, 13, 21, 22, 31]].sum() == 0.0  # the "fast" relations: nothing moves
    assert g[28] == 0.0  # "lying": neck -> root within 70..110 deg of up; upright it is 180
    assert g[6] == g[7] == 0.0  # elbows bent under 110 deg; the rest pose has straight arms


def test_frechet_distance_hand_computed():
    a = np.array([[-1.0], [1.0]])  # mean 0, variance 2
    b = a + 3.0  # same spread, mean 3: FD = 3^2
    assert frechet_distance(a, b) == pytest.approx(9.0)
    x = np.random.default_rng(0).normal(size=(50, 4))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_diversity_is_the_mean_pairwise_distance():
    assert diversity(np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])) == pytest.approx(4.0)


def test_reference_set_formats(tmp_path):
    rest = np.zeros((8, 72))
    trans = np.tile([0.0, 90.0, 0.0], (8, 1))  # AIST++: y-up, scaled by smpl_scaling
    np.savez(tmp_path / "aist.npz", smpl_poses=rest, smpl_trans=trans, smpl_scaling=[100.0])
    joints = forward_kinematics(np.zeros((4, 24, 3)) + [np.pi / 2, 0, 0], np.zeros((4, 3)))
    np.savez(tmp_path / "edge.npz", joints=joints)
    with open(tmp_path / "edge.pkl", "wb") as f:
        pickle.dump({"full_pose": joints, "smpl_trans": np.zeros((4, 3))}, f)
    clips = load_reference_set(tmp_path)
    aist = clips[0]
    assert aist.shape == (4, 24, 3)  # 60 fps -> 30 fps
    assert aist[0, 0] == pytest.approx([0.0, 0.0, 0.9])  # trans / scaling, y-up -> z-up
    assert aist[0, 15, 2] > aist[0, 0, 2] + 0.4  # head above pelvis: stood up
    assert np.allclose(clips[1], joints) and np.allclose(clips[2], joints)


def test_reference_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"smpl_poses": os.getcwd}))
    with pytest.raises(InputError, match="refusing to load"):
        clip_joints(path)
