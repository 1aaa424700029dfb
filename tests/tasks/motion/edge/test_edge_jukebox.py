"""Jukebox features: per-window extraction with a resumable cache, the optional jukemirlib, and
the motion stage picking them for a 4800-d checkpoint. A fake jukemirlib stands in for the 5B
model (a deterministic function of each window's audio)."""

import dataclasses
import logging
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
import zarr

from params import load_defaults
from tasks.base import InputError, StageContext
from tasks.motion.edge.checkpoint import EdgeWeights, save_converted
from tasks.motion.edge.jukebox import (
    DIM,
    SAMPLE_RATE,
    WindowCache,
    jukebox_windows,
    jukemirlib_extractor,
    stitch_windows,
    window_audio,
)
from tasks.motion.edge.model import DanceDecoder
from tasks.motion.edge.params import PARAMS
from tasks.motion.task import compute
from tests.tasks.motion.edge.edge_testkit import TINY, tiny_normalizer
from tests.tasks.motion.edge.fake_jukemirlib import fake_features, install, weights_dir


class Counting:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls, self.fail_at = 0, fail_at

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if self.calls == self.fail_at:
            raise KeyboardInterrupt  # a kill mid-extraction
        self.calls += 1
        return fake_features(audio)


def song(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


@pytest.mark.parametrize("seconds,windows", [(2.0, 1), (7.3, 2), (12.0, 4)])
def test_windows_cover_any_length(seconds, windows, tmp_path):
    frames = round(seconds * 30)
    out = jukebox_windows(song(seconds), frames, WindowCache(tmp_path, "a" * 64), Counting())
    assert out.shape == (windows, 150, DIM) and out.dtype == np.float32
    # window k is the 5 s from k x 2.5 s, peak-normalised on its own like EDGE's slice files
    np.testing.assert_array_equal(out[-1], fake_features(window_audio(song(seconds), windows - 1)))


@pytest.mark.parametrize(
    "seconds,bursts,expected",
    [(2.0, {30: 0.5}, {30: 1.0}), (7.3, {100: 0.25, 180: 0.5}, {100: 1.0, 180: 1.0})],
)
def test_stitched_frames_are_aligned_to_the_music(seconds, bursts, expected, tmp_path):
    """(T, 4800) at 30 fps: 1/30 s bursts in silence show up at their own frames only. Frame 100
    lies in windows 0 and 1; it comes from window 0, where it is the peak (1.0 after
    normalisation; it would be 0.5 from window 1)."""
    audio = np.zeros(round(seconds * SAMPLE_RATE), np.float32)
    hop = SAMPLE_RATE // 30
    for frame, amplitude in bursts.items():
        audio[frame * hop : (frame + 1) * hop] = amplitude
    frames = round(seconds * 30)
    windows = jukebox_windows(audio, frames, WindowCache(tmp_path, "c" * 64), Counting())
    out = stitch_windows(windows, frames)
    assert out.shape == (frames, DIM) and out.dtype == np.float32
    rms = out[:, 0] / 0.5  # channel 0 of fake_features is 0.5 x RMS
    assert np.flatnonzero(rms).tolist() == sorted(expected)
    np.testing.assert_allclose(rms[sorted(expected)], [expected[f] for f in sorted(expected)])


def test_interrupted_extraction_resumes_and_a_torn_window_is_redone(tmp_path):
    audio, frames = song(12.0), 360  # 4 windows
    cache = WindowCache(tmp_path / "cache", "b" * 64)
    with pytest.raises(KeyboardInterrupt):
        jukebox_windows(audio, frames, cache, Counting(fail_at=2))
    assert sorted(p.name for p in cache.folder.iterdir()) == ["window00000.npy", "window00001.npy"]
    resumed = Counting()
    out = jukebox_windows(audio, frames, cache, resumed)
    assert resumed.calls == 2  # windows 2 and 3 only
    unbroken = jukebox_windows(audio, frames, WindowCache(tmp_path / "fresh", "b" * 64), Counting())
    np.testing.assert_array_equal(out, unbroken)

    cache.path(1).write_bytes(cache.path(1).read_bytes()[:1000])  # truncated on disk
    again = Counting()
    np.testing.assert_array_equal(jukebox_windows(audio, frames, cache, again), unbroken)
    assert again.calls == 1


def test_missing_jukemirlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jukemirlib", None)
    with pytest.raises(InputError, match=r"music2dance\[jukebox\]"):
        jukemirlib_extractor(tmp_path)


def test_jukemirlib_is_set_up_from_local_weights_only(monkeypatch, tmp_path):
    calls = install(monkeypatch)
    with pytest.raises(InputError, match="motion.jukebox_dir"):
        jukemirlib_extractor(None)
    (tmp_path / "vqvae.pth.tar").write_bytes(b"x")
    with pytest.raises(InputError, match="prior_level_2.pth.tar"):
        jukemirlib_extractor(tmp_path)
    (tmp_path / "prior_level_2.pth.tar").write_bytes(b"x")
    extract = jukemirlib_extractor(tmp_path)
    assert extract(window_audio(song(5.0), 0)).shape == (150, DIM)
    assert calls.setup == [str(tmp_path)] and calls.extract == [([66], 30)]


def test_motion_stage_uses_jukebox_for_a_4800d_checkpoint(monkeypatch, tmp_path):
    calls = install(monkeypatch)
    monkeypatch.setenv("MUSIC2DANCE_FEATURE_CACHE", str(tmp_path / "features"))
    torch.manual_seed(0)
    model = DanceDecoder(dataclasses.replace(TINY, cond_feature_dim=DIM)).eval()
    checkpoint = save_converted(EdgeWeights(model, tiny_normalizer()), tmp_path / "edge")
    weights = weights_dir(tmp_path / "jukebox")
    wav = tmp_path / "song.wav"
    sf.write(wav, song(4.0), SAMPLE_RATE)
    audio = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    audio.attrs.update({"fps": 30, "num_frames": 120})
    values = load_defaults()["motion"] | {
        "model": "edge", "steps": 2, "checkpoint": str(checkpoint), "jukebox_dir": str(weights)
    }  # fmt: skip
    values = {k: PARAMS[k].check(k, v) if k in PARAMS else v for k, v in values.items()}
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(params=values, upstream={"audio": audio}, out=out, workdir=tmp_path,
                       log=logging.getLogger("test"), audio_path=wav)  # fmt: skip
    compute(ctx)
    assert out["poses"].shape == (120, 24, 3) and len(calls.extract) == 1
    assert len(list((tmp_path / "features").rglob("window*.npy"))) == 1
