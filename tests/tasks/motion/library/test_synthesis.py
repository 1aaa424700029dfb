"""Beat-matched synthesis over the motion graph, and the motion stage with motion.model=library."""

import logging

import numpy as np
import pytest
import zarr
from scipy.spatial.transform import Rotation

from tasks.base import InputError, StageContext
from tasks.body.beats import motion_beats
from tasks.body.skeleton import forward_kinematics
from tasks.evaluate.motion import foot_skating_ratio
from tasks.motion.library.graph import build_graph, library_graph
from tasks.motion.library.segments import root_yaw
from tasks.motion.library.synthesis import MAX_WARP, Framing, synthesize
from tasks.motion.task import SPEC
from tests.stage_params import stage_params
from tests.tasks.motion.library.dances import click_track, pendulum_library

WIDE = Framing(max_turn=np.radians(30.0), stay_radius=0.3)


@pytest.fixture(scope="module")
def pendulums():
    return build_graph(pendulum_library())


@pytest.fixture(scope="module")
def bundled():
    return library_graph()


def dance(graph, song, seed=0, framing=WIDE, energy=1.0):
    return synthesize(graph, seed=seed, framing=framing, energy=energy, **song)


def joints_of(poses, trans):
    return forward_kinematics(poses.astype(np.float64), trans.astype(np.float64))


def test_beat_warp_puts_kinematic_beats_on_the_click_track(pendulums):
    song = click_track(8.0, bpm=120.0)  # a beat every 15 frames; clips beat every 14-17
    joints = joints_of(*dance(pendulums, song))
    music = song["beats"] * 30
    motion = motion_beats(joints)
    inner = music[(music > 10) & (music < song["num_frames"] - 10)]
    assert np.abs(inner[:, None] - motion[None]).min(axis=1).max() <= 1.0
    inner_motion = motion[(motion > 10) & (motion < song["num_frames"] - 10)]
    assert np.abs(inner_motion[:, None] - music[None]).min(axis=1).max() <= 1.0


def test_jumps_between_clips_are_blended(pendulums):
    # 3 s clips in a 12 s dance: at least three jumps between clips of different swing amplitude
    joints = joints_of(*dance(pendulums, click_track(12.0)))
    step = np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=1)
    source = pendulum_library()
    source_step = max(
        np.linalg.norm(np.diff(joints_of(c.poses, c.trans), axis=0), axis=-1).max() for c in source
    )
    assert step.max() <= 1.3 * source_step  # warp <= 20%, blends add little


def test_no_joint_jumps_and_little_foot_skating_on_real_dance(bundled):
    joints = joints_of(*dance(bundled, click_track(20.0, bpm=110.0), seed=3))
    step = np.linalg.norm(np.diff(joints, axis=0), axis=-1)  # (T-1, 24) m/frame
    seg = bundled.segments  # real motion, whose kicks move the toes up to 12 m/s
    real = np.concatenate(
        [
            np.linalg.norm(np.diff(seg.joints[s : e + 1], axis=0), axis=-1).max(axis=1)
            for s, e in zip(seg.start, seg.end, strict=True)
        ]
    )
    assert step.max() < max(0.35, (1 + MAX_WARP) * real.max())  # no joint teleports
    assert np.percentile(step.max(axis=1), 99) < (1 + MAX_WARP) * np.percentile(real, 99)
    skating = stage_params("evaluate")
    skate = foot_skating_ratio(
        joints, 30, contact_height=skating["contact_height"], skate_speed=skating["skate_speed"]
    )
    assert skate < 0.2  # held-out real dance scores ~0.13


def test_same_seed_same_dance_other_seed_other_dance(bundled):
    song = click_track(6.0)
    first, again, other = (dance(bundled, song, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.allclose(first[0], other[0], atol=1e-3)


@pytest.mark.parametrize("seconds", [2.0, 7.3, 61.0])
def test_every_song_length(bundled, seconds):
    song = click_track(seconds, bpm=97.0)
    poses, trans = dance(bundled, song)
    frames = round(seconds * 30)
    assert poses.shape == (frames, 24, 3) and trans.shape == (frames, 3)
    assert poses.dtype == trans.dtype == np.float32
    assert np.isfinite(poses).all() and np.isfinite(trans).all()
    feet = joints_of(poses, trans)[:, [7, 8, 10, 11], 2]
    assert -0.05 < feet.min() < 0.05  # standing on the ground, not floating or sunk


@pytest.mark.parametrize("max_turn_deg", [10.0, 30.0])
def test_facing_and_drift_stay_within_the_framing_limits(bundled, max_turn_deg):
    framing = Framing(np.radians(max_turn_deg), stay_radius=0.2)
    for seed in range(3):
        poses, trans = dance(bundled, click_track(30.0, bpm=128.0), seed=seed, framing=framing)
        yaw = np.degrees(root_yaw(Rotation.from_rotvec(poses[:, 0])))
        assert np.abs(yaw).max() <= max_turn_deg
        assert np.linalg.norm(trans[:, :2], axis=1).max() <= 0.2


def test_motion_energy_follows_the_music(bundled):
    song = click_track(24.0)
    song["onset"][: 12 * 30] *= 0.1  # a quiet first half
    joints = joints_of(*dance(bundled, song))
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1)
    assert speed[12 * 30 :].mean() > 1.3 * speed[: 12 * 30].mean()


def test_only_30_fps_music_is_danced(bundled):
    song = click_track(4.0) | {"fps": 25}
    with pytest.raises(InputError, match="30 fps"):
        dance(bundled, song)


def test_motion_stage_with_the_library_model(tmp_path):
    song = click_track(5.0)
    audio = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    audio.create_array("onset", shape=song["onset"].shape, dtype="float32")[:] = song["onset"]
    audio.create_array("beats", shape=song["beats"].shape, dtype="float64")[:] = song["beats"]
    audio.attrs.update({"fps": 30, "num_frames": song["num_frames"], "tempo": song["tempo"]})
    params = stage_params("motion")
    assert params["model"] == "library"
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(
        params=params,
        upstream={"audio": audio},
        out=out,
        workdir=tmp_path,
        log=logging.getLogger("test"),
    )
    SPEC.compute(ctx)
    frames = song["num_frames"]
    assert {k: out[k].shape for k in ("poses", "trans", "joints", "motion151")} == {
        "poses": (frames, 24, 3),
        "trans": (frames, 3),
        "joints": (frames, 24, 3),
        "motion151": (frames, 151),
    }
    assert dict(out.attrs) == {"fps": 30, "num_frames": frames, "model": "library"}
    assert np.allclose(out["joints"][:], joints_of(out["poses"][:], out["trans"][:]), atol=1e-4)
