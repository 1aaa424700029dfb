"""Partner holds: found from a captured pair, stored in the library, freed in synthesis."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import JOINT_NAMES, OFFSETS, PARENTS, forward_kinematics_matrices
from tasks.motion.library.build import partner_files
from tasks.motion.library.clips import MotionClip, load_library, mirror_clip, save_library
from tasks.motion.library.graph import library_graph
from tasks.motion.library.holds import (
    ARMS,
    MIN_HOLD_S,
    free_held_arms,
    partner_holds,
    still_arms,
)
from tasks.motion.library.source import SourceMotion
from tasks.motion.library.synthesis import Framing, synthesize
from tests.tasks.motion.library.dances import click_track

FPS = 60.0


def stick_dancer(root: np.ndarray) -> SourceMotion:
    """An SMPL-named rig (metres, y up) standing in a T-pose, its pelvis at `root` (T, 3)."""
    local = np.tile(np.eye(3), (len(root), len(JOINT_NAMES), 1, 1))
    return SourceMotion(JOINT_NAMES, PARENTS, OFFSETS.copy(), local, root, FPS)


def test_holds_are_found_exactly_where_the_partners_hands_touch():
    frames, touch, brush = 300, slice(100, 160), slice(230, 240)  # 1 s hold, a 0.17 s brush
    lead = stick_dancer(np.tile([0.0, 0.9, 0.0], (frames, 1)))
    rest = lead.rest_positions()
    gap = rest[22, 0] - rest[23, 0]  # lead's left hand onto the follow's right hand
    x = np.full(frames, gap + 1.0)  # apart: the hands 1 m from each other
    x[touch] = x[brush] = gap
    follow = stick_dancer(np.stack([x, np.full(frames, 0.9), np.zeros(frames)], axis=1))
    held_lead, held_follow = partner_holds(lead, follow)
    expected = np.zeros(frames, bool)
    expected[touch] = True  # the brush is shorter than MIN_HOLD_S
    assert (brush.stop - brush.start) / FPS < MIN_HOLD_S
    np.testing.assert_array_equal(held_lead[:, 0], expected)  # left hand
    np.testing.assert_array_equal(held_follow[:, 1], expected)  # right hand
    assert not held_lead[:, 1].any() and not held_follow[:, 0].any()


def test_partners_pair_files_by_subject_and_take(tmp_path: Path):
    files = [tmp_path / n for n in ("60_01.amc", "61_01.amc", "05_01.amc")]
    assert partner_files(files, [("60", "61")]) == {files[0]: files[1], files[1]: files[0]}
    with pytest.raises(InputError, match="61_02 is not among the sources"):
        partner_files([*files, tmp_path / "60_02.amc"], [("60", "61")])


def _clip(name: str, frames: int, held: np.ndarray | None) -> MotionClip:
    rng = np.random.default_rng(len(name))
    poses = (0.3 * rng.normal(size=(frames, 24, 3))).astype(np.float32)
    trans = np.tile([0.0, 0.0, 0.95], (frames, 1)).astype(np.float32)
    return MotionClip(name, "salsa", poses, trans, held)


def test_mirroring_swaps_the_hands_that_hold():
    held = np.zeros((20, 2), bool)
    held[5:12, 0] = True
    mirrored = mirror_clip(_clip("a", 20, held))
    np.testing.assert_array_equal(mirrored.held, held[:, ::-1])
    assert mirror_clip(_clip("b", 20, None)).held is None


def test_save_and_load_with_and_without_holds(tmp_path: Path):
    held = np.zeros((30, 2), bool)
    held[3:20, 1] = True
    with_holds = [_clip("a", 30, held), _clip("b", 12, None)]
    save_library(with_holds, tmp_path / "holds.npz")
    a, b = load_library(tmp_path / "holds.npz")
    np.testing.assert_array_equal(a.held, held)
    np.testing.assert_array_equal(b.held, np.zeros((12, 2), bool))  # another clip's holds
    save_library([_clip("c", 10, None)], tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz") as npz:
        assert "held" not in npz.files  # libraries without holds keep the old layout
    (c,) = load_library(tmp_path / "plain.npz")
    assert c.held is None


def test_a_held_arm_plays_the_free_arm_mirrored_and_blends_in():
    frames = 90
    held = np.zeros((frames, 2), bool)
    held[30:60, 1] = True  # the right hand holds for 1 s
    still = _clip("a", 1, None).poses.astype(np.float64)  # one pose: only the blend moves
    poses = np.repeat(still, frames, axis=0)
    freed = free_held_arms(poses, held, 30.0)
    left, right = list(ARMS[0]), list(ARMS[1])
    np.testing.assert_allclose(freed[30:60][:, right], poses[30:60][:, left] * [1, -1, -1], 1e-6)
    np.testing.assert_array_equal(freed[:, left], poses[:, left])
    np.testing.assert_array_equal(freed[:20], poses[:20])  # beyond the 0.25 s blend
    np.testing.assert_array_equal(freed[70:], poses[70:])
    angle = (
        Rotation.from_rotvec(freed[24:31, 17]).inv() * Rotation.from_rotvec(freed[23:30, 17])
    ).magnitude()
    direct = Rotation.from_rotvec(poses[29, 17]).inv() * Rotation.from_rotvec(freed[30, 17])
    assert angle.max() < 0.5 * direct.magnitude()  # slerped in over several frames


def test_still_arms_flag_the_side_by_side_charleston_hold():
    clip = next(c for c in load_library() if c.name == "cmu/93_05")  # right hand holds throughout
    still = still_arms(clip.poses.astype(np.float64), clip.trans.astype(np.float64), 30.0)
    assert still[:, 1].mean() > 0.9 and still[:, 0].mean() < 0.1


def _wrist_pinned(poses: np.ndarray, trans: np.ndarray, seconds: float, radius: float) -> float:
    """Share of frames in which a wrist stays within `radius` of one chest-relative point for
    `seconds` or longer."""
    world, joints = forward_kinematics_matrices(
        Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(*poses.shape, 3), trans
    )
    rel = np.einsum("tji,twj->twi", world[:, 9], joints[:, [20, 21]] - joints[:, 9:10])
    window = round(seconds * 30)
    views = np.lib.stride_tricks.sliding_window_view(rel, window, axis=0)  # (S, 2, 3, window)
    spread = np.linalg.norm(views - views.mean(axis=-1, keepdims=True), axis=2).max(axis=-1)
    pinned = np.zeros(rel.shape[:2], bool)
    for s, w in zip(*np.nonzero(spread < radius), strict=True):
        pinned[s : s + window, w] = True
    return float(pinned.mean())


def test_synthesized_dance_has_no_frozen_arm():
    graph = library_graph()
    framing = Framing(np.radians(30.0), 0.3)
    for bpm, seed in ((96.0, 0), (124.0, 1), (150.0, 2)):
        poses, trans = synthesize(
            graph, seed=seed, framing=framing, energy=1.0, **click_track(30.0, bpm=bpm)
        )
        poses, trans = poses.astype(np.float64), trans.astype(np.float64)
        assert _wrist_pinned(poses, trans, 2.0, 0.05) < 0.01
        assert still_arms(poses, trans, 30.0).mean() < 0.05  # a 15 cm box: the hold detector
