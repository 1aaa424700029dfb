"""The weight-free choreographer on a synthetic beat grid (no audio decoding, runs in seconds)."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from tasks.body.beats import beat_alignment_score, motion_beats
from tasks.body.skeleton import UPRIGHT, forward_kinematics
from tasks.motion.choreographer import choreograph

FPS, BPM, SECONDS = 30, 120, 20.0
T = round(SECONDS * FPS)
BEATS = np.arange(0.25, SECONDS, 60 / BPM)  # seconds
# Onset strength: a decaying pulse on every beat, quieter in the first 8 beats.
_PULSE = np.exp(-(np.arange(T) - np.round(BEATS * FPS)[:, None]).clip(0, None) / 3.0)
ONSET = (_PULSE * (np.arange(T) >= np.round(BEATS * FPS)[:, None])).max(axis=0)
ONSET[: round(BEATS[8] * FPS)] *= 0.3
ANKLES = [7, 8]
# Largest rotation angle (degrees) per SMPL joint; the root is measured from upright.
LIMITS = {0: 30, 1: 100, 2: 100, 3: 30, 4: 130, 5: 130, 6: 30, 7: 45, 8: 45, 9: 30}
LIMITS |= {12: 40, 13: 15, 14: 15, 15: 45, 16: 170, 17: 170, 18: 145, 19: 145}


def dance(seed: int = 0, energy: float = 1.0, num_frames: int = T):
    poses, trans = choreograph(ONSET, BEATS, float(BPM), num_frames, FPS, seed, energy)
    return poses, trans, forward_kinematics(poses, trans)


@pytest.fixture(scope="module")
def dances() -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return {seed: dance(seed) for seed in range(6)}


def test_seeded_deterministic_and_sized(dances):
    poses, trans, _ = dances[0]
    again = dance(0)
    assert poses.shape == (T, 24, 3) and trans.shape == (T, 3)
    assert poses.dtype == np.float32 and trans.dtype == np.float32
    assert np.array_equal(poses, again[0]) and np.array_equal(trans, again[1])
    assert not np.allclose(poses, dances[1][0], atol=1e-3)
    assert dance(0, num_frames=101)[0].shape == (101, 24, 3)


def test_upright_facing_minus_y_and_on_the_ground(dances):
    for _, _, joints in dances.values():
        assert np.abs(joints[..., 2].min(axis=1)).max() < 0.01  # lowest joint on z = 0
        assert (joints[:, 15, 2] > 1.3).all() and (joints[:, 0, 2] > 0.7).all()
        toes_ahead = joints[:, [10, 11], 1] - joints[:, [7, 8], 1]
        assert (toes_ahead < -0.1).all()


def test_feet_stay_planted_unless_stepping(dances):
    stepped = 0
    for _, _, joints in dances.values():
        ankles = joints[:, ANKLES]
        grounded = ankles[:-1, :, 2] < ankles[:, :, 2].min(axis=0) + 1e-3
        slide = np.linalg.norm(np.diff(ankles[..., :2], axis=0), axis=-1)
        assert slide[grounded].max() < 1e-3  # m/frame
        stepped += int(np.ptp(ankles[..., :2], axis=0).max() > 0.1)
    assert stepped >= 1  # some seed picks a stepping move


def test_joint_angles_stay_within_human_limits():
    for seed in range(3):
        poses, _, _ = dance(seed, energy=2.0)
        rot = Rotation.from_rotvec(poses.reshape(-1, 3).astype(np.float64))
        angles = np.degrees(rot.magnitude()).reshape(T, 24)
        root = Rotation.from_rotvec(poses[:, 0].astype(np.float64))
        angles[:, 0] = np.degrees((UPRIGHT.inv() * root).magnitude())
        for joint, limit in LIMITS.items():
            assert angles[:, joint].max() <= limit, f"joint {joint}"
        assert (poses[:, [4, 5], 0] >= 0).all()  # knees only flex


def test_beat_alignment_beats_random_motion(dances):
    music = BEATS * FPS
    scores = [beat_alignment_score(joints, music, FPS) for _, _, joints in dances.values()]
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0, 0.01, (T, 24, 3)), axis=0)
    baseline = beat_alignment_score(gaussian_filter1d(walk, 2, axis=0), music, FPS)
    assert min(scores) > 0.8 and min(scores) > baseline + 0.3


def test_beat_alignment_score_definition():
    t = np.arange(300)
    speed = 1.5 + np.cos(2 * np.pi * (t - 10) / 30)  # slowest at frames 25, 55, ...
    joints = np.zeros((301, 24, 3))
    joints[1:, :, 0] = np.cumsum(speed)[:, None]
    assert np.array_equal(motion_beats(joints), np.arange(25, 290, 30))
    assert beat_alignment_score(joints, np.arange(25, 290, 30), FPS) == pytest.approx(1.0)
    assert beat_alignment_score(joints, np.array([28.0]), FPS) == pytest.approx(np.exp(-0.5))
