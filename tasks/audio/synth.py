"""Procedural music for the demo and the tests: a drum kit on a beat grid, a bass line and chords,
in 8-beat sections whose energy rises and falls, so beats, tempo and loudness are known."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

_SECTION_BEATS = 8
_SECTION_ENERGY = (0.55, 0.8, 1.0, 0.7)  # cycled: intro, build, drop, break
_CHORD_ROOTS_HZ = (110.0, 87.31, 130.81, 98.0)  # A2, F2, C3, G2: one chord per section
_MAJOR_TRIAD = (1.0, 1.26, 1.498)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50.0 + 100.0 * np.exp(-t * 30.0)  # pitch drop 150 -> 50 Hz
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 12.0)


def _noise_hit(sr: int, seconds: float, decay: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return rng.standard_normal(t.size) * np.exp(-t * decay)


def _add(track: np.ndarray, sound: np.ndarray, start: int, gain: float) -> None:
    end = min(track.size, start + sound.size)
    if start < end:
        track[start:end] += gain * sound[: end - start]


def synth_music(seconds: float, bpm: float, seed: int, sample_rate: int) -> np.ndarray:
    """Mono float32 samples (round(seconds * sample_rate),) peaking at 0.9.

    Kick on every beat, snare on beats 2 and 4, hi-hat on eighths, a plucked bass on each beat and
    a sustained chord per 8-beat section; section energies cycle through `_SECTION_ENERGY`.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.zeros(n, dtype=np.float64)
    beat_s = 60.0 / bpm
    kick = _kick(sample_rate)
    snare = _noise_hit(sample_rate, 0.2, 25.0, rng)
    hat = np.diff(_noise_hit(sample_rate, 0.05, 80.0, rng), prepend=0.0)  # high-passed
    num_beats = int(np.ceil(seconds / beat_s))
    for beat in range(num_beats):
        start = round(beat * beat_s * sample_rate)
        section = beat // _SECTION_BEATS
        energy = _SECTION_ENERGY[section % len(_SECTION_ENERGY)]
        root = _CHORD_ROOTS_HZ[section % len(_CHORD_ROOTS_HZ)]
        _add(out, kick, start, 0.9 * energy)
        if beat % 2 == 1:
            _add(out, snare, start, 0.35 * energy)
        for half in (0, 1):
            _add(out, hat, start + round(half * beat_s * sample_rate / 2), 0.12 * energy)
        pluck_t = np.arange(round(beat_s * sample_rate)) / sample_rate
        octave = 1.0 if beat % 4 != 3 else 2.0
        pluck = np.sign(np.sin(2 * np.pi * root / 2 * octave * pluck_t)) * np.exp(-pluck_t * 6)
        _add(out, pluck, start, 0.15 * energy)
    section_of_t = (t / (beat_s * _SECTION_BEATS)).astype(int)
    pad_energy = np.take(_SECTION_ENERGY, section_of_t % len(_SECTION_ENERGY))
    roots = np.take(_CHORD_ROOTS_HZ, section_of_t % len(_CHORD_ROOTS_HZ))
    phase = 2 * np.pi * np.cumsum(roots) / sample_rate
    chord = sum(np.sin(phase * 2 * ratio) for ratio in _MAJOR_TRIAD)
    out += 0.05 * pad_energy * chord
    out *= 0.9 / max(float(np.abs(out).max()), 1e-8)
    return out.astype(np.float32)


def write_wav(path: str | Path, samples: np.ndarray, sr: int) -> None:
    """Write mono float samples (N,) in [-1, 1] as a 16-bit PCM WAV file."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes(pcm.tobytes())
