"""The songs of the EDGE-feature golden file: synthesized, written as 16-bit WAVs."""

from __future__ import annotations

from pathlib import Path

from tasks.audio.synth import synth_music, write_wav

# name -> (seconds, bpm, seed, native sample rate). The AIST++-style name makes EDGE read the
# tempo from `mBR0` (80 bpm) instead of estimating it.
SONGS: dict[str, tuple[float, float, int, int]] = {
    "song": (11.0, 123.0, 3, 44100),
    "gBR_sBM_cAll_d04_mBR0_ch01": (6.0, 96.0, 4, 22050),
}


def write_song(name: str, folder: Path) -> Path:
    seconds, bpm, seed, sample_rate = SONGS[name]
    path = folder / f"{name}.wav"
    write_wav(path, synth_music(seconds, bpm, seed=seed, sample_rate=sample_rate), sample_rate)
    return path
