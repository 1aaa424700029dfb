"""Editing: constrained channels come out equal to the given motion (after unnormalisation)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import UPRIGHT, forward_kinematics, matrix_from_6d, to_motion151
from tasks.motion.edge.editing import (
    LOWER_BODY,
    ROOT,
    Edit,
    constraint_arrays,
    joint_channels,
    parse_joints,
)
from tasks.motion.edge.generate import generate
from tests.tasks.motion.edge.edge_testkit import sampling

FRAMES = 219  # 7.3 s: two windows, so constraints cross the stitched overlap


def reference_motion(frames: int = FRAMES) -> np.ndarray:
    """A smooth swaying dance (frames, 151), unnormalised."""
    t = np.arange(frames)[:, None] / 30.0
    poses = 0.3 * np.sin(2 * np.pi * 0.5 * t[:, :, None] + np.arange(72).reshape(1, 24, 3))
    poses[:, 0] = (Rotation.from_rotvec(poses[:, 0]) * UPRIGHT).as_rotvec()
    trans = np.concatenate([0.3 * np.sin(t), 0.2 * np.cos(t), 0.9 + 0.02 * np.sin(4 * t)], axis=1)
    return to_motion151(poses, trans, forward_kinematics(poses, trans)).astype(np.float64)


def music(frames: int = FRAMES) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(frames, 35)).astype(np.float32)


def test_channel_indexing_is_7_plus_6j():
    assert joint_channels(0) == slice(7, 13)
    assert joint_channels(23) == slice(145, 151)
    assert slice(4, 7) == ROOT
    assert parse_joints("lower") == LOWER_BODY and parse_joints("3, 9") == (3, 9)
    with pytest.raises(ValueError, match="outside"):
        parse_joints("24")


def test_lower_body_and_root_path_follow_the_reference(tiny_weights):
    ref = reference_motion()
    edit = Edit(reference=ref, joints=LOWER_BODY, root=True)
    out = generate(tiny_weights, music(), seed=2, **sampling(steps=4), edit=edit)
    for joint in LOWER_BODY:
        cols = joint_channels(joint)
        assert np.abs(out.motion151[:, cols] - ref[:, cols]).max() < 1e-4, joint
        got = Rotation.from_rotvec(out.poses[:, joint].astype(np.float64))
        want = Rotation.from_matrix(matrix_from_6d(ref[:, cols]))
        assert (got.inv() * want).magnitude().max() < 1e-4
    assert np.abs(out.trans - ref[:, ROOT]).max() < 1e-4
    free = joint_channels(16)  # a shoulder stays generated
    assert np.abs(out.motion151[:, free] - ref[:, free]).max() > 1e-2


def test_key_poses_are_hit_exactly_and_frames_between_are_free(tiny_weights):
    ref = reference_motion()
    keys = (0, 112, 218)
    out = generate(
        tiny_weights, music(), seed=4, **sampling(steps=4), edit=Edit(ref, keyframes=keys)
    )
    for frame in keys:
        assert np.abs(out.motion151[frame, 4:] - ref[frame, 4:]).max() < 1e-4
    assert np.abs(out.motion151[50, 4:] - ref[50, 4:]).max() > 1e-2


def test_constraint_arrays_cover_only_the_reference():
    ref = reference_motion(100)
    mask, value = constraint_arrays(Edit(ref, joints=(1,), root=True), 150)
    assert mask.shape == value.shape == (150, 151)
    assert mask[:100, 13:19].all() and mask[:100, 4:7].all() and not mask[100:].any()
    assert not mask[:, :4].any() and not mask[:, 7:13].any()
    with pytest.raises(ValueError, match="key frame"):
        constraint_arrays(Edit(ref, keyframes=(120,)), 150)
