"""The library file (bundled and saved), its validation, and left/right mirroring."""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import forward_kinematics
from tasks.motion.library.clips import (
    LIBRARY_FPS,
    MIRROR,
    MotionClip,
    load_library,
    mirror_clip,
    save_library,
)


@pytest.fixture(scope="module")
def bundled() -> list[MotionClip]:
    return load_library()


def _clip(bundled: list[MotionClip], name: str = "cmu/93_08") -> MotionClip:
    return next(c for c in bundled if c.name == name)


def test_bundled_library_has_every_style_at_30_fps(bundled):
    assert LIBRARY_FPS == 30
    minutes = {}
    for clip in bundled:
        assert clip.poses.shape == (len(clip.trans), 24, 3) and clip.trans.shape[1] == 3
        assert clip.poses.dtype == np.float32 and clip.trans.dtype == np.float32
        minutes[clip.style] = minutes.get(clip.style, 0.0) + clip.seconds / 60
    assert set(minutes) == {"salsa", "modern", "charleston", "chicken"}
    assert 19 < sum(minutes.values()) < 22
    assert all(c.name.startswith("cmu/") for c in bundled)


def test_bundled_clips_face_minus_y_and_stand_on_the_ground(bundled):
    for clip in bundled:
        joints = forward_kinematics(clip.poses, clip.trans)
        forward = Rotation.from_rotvec(clip.poses[0, 0]).apply([0.0, 0.0, 1.0])[:2]
        np.testing.assert_allclose(forward / np.linalg.norm(forward), [0.0, -1.0], atol=1e-4)
        lowest = joints[:, [7, 8, 10, 11], 2].min(axis=1)
        assert -0.01 < np.median(lowest) < 0.05, clip.name
        # hardly ever below the floor (SMPL's foot is 4 cm longer than CMU's: a pointed foot dips)
        assert np.mean(lowest < -0.03) < 0.03, clip.name
        upright = joints[:, 15, 2] > joints[:, 0, 2]  # head above the pelvis
        assert upright.mean() > 0.8, clip.name  # 05_06 opens with a cartwheel


def test_save_then_load_keeps_poses_within_a_hundredth_of_a_degree(tmp_path: Path, bundled):
    clip = _clip(bundled)
    save_library([clip], tmp_path / "one.npz")
    (again,) = load_library(tmp_path / "one.npz")
    assert (again.name, again.style) == (clip.name, clip.style)
    delta = Rotation.from_rotvec(again.poses.reshape(-1, 3)).inv() * Rotation.from_rotvec(
        clip.poses.reshape(-1, 3)
    )
    assert np.degrees(delta.magnitude().max()) < 0.01
    np.testing.assert_array_equal(again.trans, clip.trans)


def test_mirroring_twice_is_the_identity(bundled):
    clip = _clip(bundled)
    twice = mirror_clip(mirror_clip(clip))
    assert mirror_clip(clip).name == "cmu/93_08~m" and twice.name == clip.name
    np.testing.assert_allclose(
        forward_kinematics(twice.poses, twice.trans),
        forward_kinematics(clip.poses, clip.trans),
        atol=1e-5,
    )


def test_mirror_swaps_left_and_right_joints_across_the_sagittal_plane(bundled):
    clip = _clip(bundled)  # faces -Y at its first frame: the sagittal plane is x = 0
    joints = forward_kinematics(clip.poses, clip.trans)
    mirrored = forward_kinematics(*(lambda m: (m.poses, m.trans))(mirror_clip(clip)))
    reflected = mirrored[:, list(MIRROR)] * [-1.0, 1.0, 1.0]
    # SMPL's left and right bones differ by up to 2 cm, so the mirror image is close, not exact
    assert np.median(np.abs(reflected - joints)) < 0.01
    assert np.abs(reflected - joints).max() < 0.05
    # and it really moves the joints: the left wrist goes where the right one was
    assert np.abs(mirrored[:, 20] - joints[:, 20]).max() > 0.1


def test_a_missing_or_broken_file_raises_input_error_naming_the_fix(tmp_path: Path):
    with pytest.raises(InputError, match="build-library"):
        load_library(tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(InputError, match="build-library"):
        load_library(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", poses=np.zeros((3, 72)))
    with pytest.raises(InputError, match="missing"):
        load_library(tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", names=np.array([{"x": 1}], dtype=object))
    with pytest.raises(InputError):
        load_library(tmp_path / "pickled.npz")


def test_inconsistent_arrays_are_refused(tmp_path: Path):
    good = {
        "names": np.array(["a", "b"]),
        "styles": np.array(["x", "x"]),
        "starts": np.array([0, 4, 10]),
        "quats": np.tile(np.array([0, 0, 0, 32767], np.int16), (10, 24, 1)),
        "trans": np.zeros((10, 3), np.float32),
        "fps": np.int64(30),
    }
    np.savez(tmp_path / "good.npz", **good)
    assert [len(c.poses) for c in load_library(tmp_path / "good.npz")] == [4, 6]
    for key, bad in [
        ("starts", np.array([0, 4, 11])),
        ("starts", np.array([0, 4])),
        ("trans", np.zeros((9, 3), np.float32)),
        ("quats", np.zeros((10, 24, 4), np.float32)),
        ("fps", np.int64(60)),
        ("quats", np.zeros((10, 24, 4), np.int16)),
        ("trans", np.full((10, 3), np.nan, np.float32)),
        ("styles", np.array(["x"])),
    ]:
        np.savez(tmp_path / "bad.npz", **{**good, key: bad})
        with pytest.raises(InputError, match="build-library"):
            load_library(tmp_path / "bad.npz")
