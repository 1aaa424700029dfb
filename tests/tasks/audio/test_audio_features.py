"""EDGE baseline features and the audio stage on one shared synthesized clip.

librosa compiles its kernels on the first call of a fresh install (~30-50 s, cached afterwards),
so every test here shares one module-scoped extraction.
"""

import logging

import numpy as np
import pytest
import zarr

from tasks.audio.features import FPS, SAMPLE_RATE, extract_features
from tasks.audio.synth import synth_music, write_wav
from tasks.audio.task import SPEC
from tasks.base import StageContext

SECONDS, BPM = 8.0, 120


@pytest.fixture(scope="module")
def music():
    return extract_features(synth_music(SECONDS, BPM, seed=0, sample_rate=SAMPLE_RATE))


def test_features_follow_edge_layout(music):
    t = round(SECONDS * FPS)
    assert music.num_frames == t and music.features.shape == (t, 35)
    assert music.features.dtype == np.float32 and np.isfinite(music.features).all()
    assert np.allclose(music.features[:, 0] / music.features[:, 0].max(), music.onset)
    assert set(np.unique(music.features[:, 33:])) <= {0.0, 1.0}
    beat_column = np.flatnonzero(music.features[:, 34])
    assert np.array_equal(beat_column, np.round(music.beats * FPS).astype(int))


def test_beats_and_tempo_match_the_synthesized_grid(music):
    assert music.tempo == pytest.approx(BPM, rel=0.03)
    assert music.beats.size >= SECONDS * BPM / 60 - 3
    assert np.allclose(np.diff(music.beats), 60 / BPM, atol=1.5 / FPS)
    offset = (music.beats * BPM / 60) % 1.0  # position inside the kick's beat, in beats
    assert np.all(np.minimum(offset, 1 - offset) < 0.1)


def test_stage_writes_the_contract(tmp_path):
    path = tmp_path / "clip.wav"
    write_wav(path, synth_music(3.0, BPM, seed=1, sample_rate=22050), 22050)
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(
        params={"min_seconds": 2.0, "max_seconds": 600.0, "features": "song"},
        upstream={},
        out=out,
        workdir=tmp_path,
        audio_path=path,
        log=logging.getLogger("test"),
    )
    SPEC.compute(ctx)
    assert out["features"].shape == (90, 35) and out["onset"].shape == (90,)
    assert out["beats"].dtype == np.float64 and out["beats"].shape[0] >= 4
    assert out["onset"][:].min() >= 0.0 and out["onset"][:].max() == pytest.approx(1.0)
    attrs = dict(out.attrs)
    assert attrs["fps"] == 30 and attrs["num_frames"] == 90 and attrs["sample_rate"] == 15360
    assert attrs["duration"] == pytest.approx(3.0) and attrs["tempo"] > 0
