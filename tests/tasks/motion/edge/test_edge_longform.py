"""Any song length >= 2 s: windows, padding, stitching, cropping; seeded and deterministic."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import axis_angle_to_6d, forward_kinematics, matrix_from_6d
from tasks.motion.edge.diffusion import (
    DDPMSampler,
    GaussianDiffusion,
    ddim_timesteps,
    guidance_weights,
    sample,
)
from tasks.motion.edge.generate import generate
from tasks.motion.edge.longform import covered_frames, merge_windows, num_windows, split_windows
from tests.tasks.motion.edge.edge_testkit import sampling


def features(seconds: float, seed: int = 0) -> np.ndarray:
    frames = round(seconds * 30)
    return np.random.default_rng(seed).normal(size=(frames, 35)).astype(np.float32)


@pytest.mark.parametrize(
    ("seconds", "windows"), [(2.0, 1), (4.9, 1), (7.3, 2), (30.0, 11), (61.0, 24)]
)
def test_song_lengths(tiny_weights, seconds, windows):
    music = features(seconds)
    assert num_windows(len(music)) == windows
    assert covered_frames(windows) >= len(music)
    out = generate(tiny_weights, music, seed=3, **sampling(steps=2))
    frames = len(music)
    assert out.motion151.shape == (frames, 151)
    assert out.poses.shape == out.joints.shape == (frames, 24, 3) and out.trans.shape == (frames, 3)
    assert all(np.isfinite(a).all() for a in (out.motion151, out.poses, out.joints))
    assert np.allclose(out.joints, forward_kinematics(out.poses, out.trans), atol=1e-5)


def test_seeded_and_deterministic(tiny_weights):
    music = features(7.3)
    first = generate(tiny_weights, music, seed=5, **sampling(steps=3))
    again = generate(tiny_weights, music, seed=5, **sampling(steps=3))
    other = generate(tiny_weights, music, seed=6, **sampling(steps=3))
    assert np.array_equal(first.motion151, again.motion151)
    assert not np.allclose(first.motion151, other.motion151)


def test_too_short_and_wrong_width_are_refused(tiny_weights):
    with pytest.raises(ValueError, match="at least 2 s"):
        generate(tiny_weights, features(1.9), seed=0, **sampling(steps=2))
    with pytest.raises(ValueError, match="Jukebox|35-d"):
        generate(tiny_weights, np.zeros((90, 4800), np.float32), seed=0, **sampling(steps=2))


def test_official_timesteps_and_guidance_ramp():
    pairs = ddim_timesteps(1000, 50)
    assert len(pairs) == 50
    assert pairs[0] == (999, 979) and pairs[1] == (979, 959) and pairs[-1] == (19, -1)
    ramp = guidance_weights(2.0, 50, ramp=True)
    assert ramp[0] == 0.0 and ramp[25] == 2.0 and max(ramp) == 2.0
    assert np.allclose(ramp[:25], np.linspace(0, 4, 50)[:25])
    assert guidance_weights(2.0, 50, ramp=False) == [2.0] * 50


def test_split_windows_pads_the_tail_and_strides_by_75():
    seq = np.arange(200, dtype=np.float32)[:, None]
    windows = split_windows(seq)
    assert windows.shape == (2, 150, 1)
    assert windows[1, 0, 0] == 75 and windows[1, -1, 0] == 199  # edge-padded past frame 199
    assert np.all(split_windows(seq, pad="constant")[1, 125:] == 0)


def test_merge_crossfades_root_and_slerps_rotations():
    rng = np.random.default_rng(0)
    rots = Rotation.random(2 * 150 * 24, random_state=1).as_rotvec().reshape(2, 150, 24, 3)
    windows = np.concatenate(
        [rng.uniform(0, 1, (2, 150, 4)), rng.normal(size=(2, 150, 3)),
         axis_angle_to_6d(rots).reshape(2, 150, 144)], axis=2,
    )  # fmt: skip
    merged = merge_windows(windows)
    assert merged.shape == (225, 151)
    assert np.array_equal(merged[:75], windows[0, :75])
    assert np.array_equal(merged[150:], windows[1, 75:])
    # overlap ends: weight 0 keeps the earlier window, weight 1 the later one
    assert np.allclose(merged[75], windows[0, 75]) and np.allclose(merged[149], windows[1, 74])
    mid = 75 + 37
    w = 37 / 74
    assert np.allclose(merged[mid, 4:7], (1 - w) * windows[0, mid, 4:7] + w * windows[1, 37, 4:7])
    a = Rotation.from_matrix(_mats(windows[0, mid]))
    b = Rotation.from_matrix(_mats(windows[1, 37]))
    m = Rotation.from_matrix(_mats(merged[mid]))
    half = (a.inv() * b).magnitude()
    assert np.allclose((a.inv() * m).magnitude(), w * half, atol=1e-6)  # on the geodesic
    assert np.allclose((m.inv() * b).magnitude(), (1 - w) * half, atol=1e-6)


def _mats(frame: np.ndarray) -> np.ndarray:
    return matrix_from_6d(frame[7:].reshape(24, 6))


def test_ddpm_sampler_ends_on_x0_and_clips_guidance_late():
    diffusion = GaussianDiffusion(num_steps=100)
    target = torch.linspace(-0.5, 0.5, 2 * 150 * 151).reshape(2, 150, 151)
    seen = []

    def denoiser(x: torch.Tensor, t: int, weight: float) -> torch.Tensor:
        seen.append((t, weight))
        return target

    gen = torch.Generator().manual_seed(0)
    out = sample(denoiser, DDPMSampler(diffusion), (2, 150, 151), guidance=2.0, generator=gen)
    assert torch.allclose(out, target, atol=1e-6)
    assert [t for t, _ in seen] == list(range(99, -1, -1))
    assert all(w == (1.0 if t < 10 else 2.0) for t, w in seen)
