"""The procedural music used by the demo and the tests."""

import numpy as np

from tasks.audio.decode import load_audio
from tasks.audio.synth import synth_music, write_wav


def test_synth_is_seeded_and_sized():
    a = synth_music(4.0, 100, seed=3, sample_rate=16000)
    assert a.shape == (64000,) and a.dtype == np.float32
    assert np.abs(a).max() == np.float32(0.9)
    assert np.array_equal(a, synth_music(4.0, 100, seed=3, sample_rate=16000))
    assert not np.array_equal(a, synth_music(4.0, 100, seed=4, sample_rate=16000))


def test_sections_change_energy():
    sr, bpm = 8000, 120
    a = synth_music(16.0, bpm, seed=0, sample_rate=sr)
    section = 8 * 60 / bpm * sr  # 8 beats
    rms = [np.sqrt(np.mean(a[int(i * section) : int((i + 1) * section)] ** 2)) for i in range(4)]
    assert max(rms) > 1.4 * min(rms)


def test_wav_round_trip(tmp_path):
    a = synth_music(2.5, 120, seed=0, sample_rate=22050)
    write_wav(tmp_path / "a.wav", a, 22050)
    assert np.allclose(load_audio(tmp_path / "a.wav", 22050), a, atol=1e-4)
