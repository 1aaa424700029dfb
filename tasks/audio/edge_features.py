"""EDGE's own 35-d baseline features, computed per 5 s slice exactly as EDGE trains and tests.

EDGE never computes features over a whole song. `data/slice.py` loads the file at its native rate
(librosa), cuts 5 s slices at 2.5 s stride and writes each as a 16-bit WAV; then
`data/audio_extraction/baseline_features.extract` reloads every slice resampled to 15360 Hz
(librosa/soxr) and computes, per slice: onset envelope (1), MFCC (20), chroma CENS (12), onset
peaks one-hot (1), beats one-hot (1), with the beat tracker started at a tempo read from AIST++'s
music name (`mBR0` -> 80 bpm) or, for any other name, `librosa.beat.tempo` of the slice at
librosa's default 22050 Hz. A checkpoint trained that way expects these numbers; the whole-song
features of `features.py` differ (other resampler, global tempo, no slice edges).

We reproduce the recipe in memory (the 16-bit WAV round trip included, so the numbers are the
official ones bit for bit) and, unlike EDGE, pad a last partial slice with silence, so the whole
song (any length) gets a dance.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from tasks.audio.features import BEAT_TIGHTNESS, FPS, HOP_LENGTH, SAMPLE_RATE

RECIPE = "edge"  # the name a converted checkpoint's config records (`feature_recipe`)
SLICE_SECONDS = 5.0
STRIDE_SECONDS = 2.5
SLICE_FRAMES = round(SLICE_SECONDS * FPS)  # 150
TEMPO_SAMPLE_RATE = 22050  # librosa.load's default rate, used by EDGE's tempo fallback
# AIST++ music names carry their tempo (baseline_features._get_tempo): mBR0..9 -> 80..170 bpm
_AIST_TEMPO = re.compile(r"^m(BR|PO|LO|MH|LH|WA|KR|JS|JB|HO)(\d)$")


def aist_tempo(slice_name: str) -> int | None:
    """The tempo EDGE reads from an AIST++ slice name (5th `_` field, e.g. `mBR3`), else None."""
    fields = slice_name.split("_")
    match = _AIST_TEMPO.match(fields[4]) if len(fields) > 4 else None
    if match is None:
        return None
    genre, digit = match.group(1), int(match.group(2))
    return digit * 5 + 110 if genre == "HO" else digit * 10 + 80


def slice_starts(num_samples: int, sample_rate: int, num_frames: int | None = None) -> list[int]:
    """Sample offsets of the slices at 2.5 s stride: EDGE's full 5 s slices, then one padded
    slice if audio remains (at least one); or as many as cover `num_frames` motion frames."""
    window, stride = int(SLICE_SECONDS * sample_rate), int(STRIDE_SECONDS * sample_rate)
    if num_frames is not None:
        stride_frames = round(STRIDE_SECONDS * FPS)
        count = 1 + max(0, math.ceil((num_frames - SLICE_FRAMES) / stride_frames))
        return [k * stride for k in range(count)]
    starts = list(range(0, num_samples - window + 1, stride)) or [0]
    if starts[-1] + window < num_samples:
        starts.append(starts[-1] + stride)
    return starts


def _pcm16_wav(samples: np.ndarray, sample_rate: int) -> io.BytesIO:
    """The slice as EDGE writes it (`soundfile.write` to .wav: 16-bit PCM), in memory."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    buffer.seek(0)
    return buffer


def slice_features(wav: io.BytesIO, start_bpm: float | None) -> np.ndarray:
    """(150, 35) float32 features of one 5 s slice (WAV bytes), `baseline_features.extract`."""
    data, _ = librosa.load(wav, sr=SAMPLE_RATE)
    envelope = librosa.onset.onset_strength(y=data, sr=SAMPLE_RATE)
    mfcc = librosa.feature.mfcc(y=data, sr=SAMPLE_RATE, n_mfcc=20).T
    chroma = librosa.feature.chroma_cens(
        y=data, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_chroma=12
    ).T
    peaks = librosa.onset.onset_detect(
        onset_envelope=envelope.flatten(), sr=SAMPLE_RATE, hop_length=HOP_LENGTH
    )
    if start_bpm is None:
        wav.seek(0)
        slow, _ = librosa.load(wav, sr=TEMPO_SAMPLE_RATE)
        start_bpm = librosa.feature.tempo(y=slow, sr=TEMPO_SAMPLE_RATE)[0]
    _, beats = librosa.beat.beat_track(
        onset_envelope=envelope,
        sr=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        start_bpm=start_bpm,
        tightness=BEAT_TIGHTNESS,
    )
    peak_onehot = np.zeros_like(envelope, dtype=np.float32)
    peak_onehot[peaks] = 1.0
    beat_onehot = np.zeros_like(envelope, dtype=np.float32)
    beat_onehot[beats] = 1.0
    features = np.concatenate(
        [envelope[:, None], mfcc, chroma, peak_onehot[:, None], beat_onehot[:, None]], axis=-1
    )
    return features[:SLICE_FRAMES].astype(np.float32)


def edge_windows(
    samples: np.ndarray, sample_rate: int, name: str, num_frames: int | None = None
) -> np.ndarray:
    """(n, 150, 35) float32 features of mono `samples` at their native `sample_rate`, one window
    per slice (`slice_starts`); `name` (the song's file stem) matters only for AIST++ names."""
    window = int(SLICE_SECONDS * sample_rate)
    windows = []
    for k, start in enumerate(slice_starts(samples.size, sample_rate, num_frames)):
        piece = samples[start : start + window]
        piece = np.pad(piece, (0, window - piece.size))
        wav = _pcm16_wav(piece, sample_rate)
        windows.append(slice_features(wav, aist_tempo(f"{name}_slice{k}")))
    return np.stack(windows)


def edge_windows_of_file(path: str | Path, num_frames: int | None = None) -> np.ndarray:
    """(n, 150, 35) EDGE features of a music file, loaded as `data/slice.py` loads it."""
    samples, sample_rate = librosa.load(str(path), sr=None)
    return edge_windows(samples, int(sample_rate), Path(path).stem, num_frames)
