"""EDGE's 35-d baseline music features at 30 fps, plus the beat grid the choreographer follows.

Recipe of EDGE `data/audio_extraction/baseline_features.py`: 15360 Hz audio and hop 512 give exactly
30 feature frames per second; columns are onset envelope (1), MFCC (20), chroma CENS (12), onset
peaks one-hot (1), beats one-hot (1); beats come from librosa's tracker with tightness 100 started
at librosa's tempo estimate. Unlike EDGE, the rows are cut or edge-padded to round(duration * 30).
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

FPS = 30  # motion frame rate of EDGE / AIST++
HOP_LENGTH = 512
SAMPLE_RATE = FPS * HOP_LENGTH  # 15360 Hz: one hop per motion frame
NUM_FEATURES = 35
BEAT_TIGHTNESS = 100


@dataclass(frozen=True)
class AudioFeatures:
    """Frame-aligned music description; all per-frame arrays have `num_frames` rows."""

    features: np.ndarray  # (T, 35) float32 EDGE baseline features
    onset: np.ndarray  # (T,) float32 onset strength scaled to [0, 1]
    beats: np.ndarray  # (n,) float64 beat times in seconds, all < T / FPS
    tempo: float  # beats per minute
    num_frames: int  # T = round(duration * FPS)
    duration: float  # seconds


def _fit_frames(x: np.ndarray, num_frames: int) -> np.ndarray:
    """Cut or edge-pad the leading (time) axis of `x` to `num_frames` rows."""
    if x.shape[0] >= num_frames:
        return x[:num_frames]
    pad = [(0, num_frames - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad, mode="edge")


def _one_hot(indices: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    out[indices[indices < length]] = 1.0
    return out


def extract_features(samples: np.ndarray) -> AudioFeatures:
    """Features of mono `samples` (N,) float32 at `SAMPLE_RATE` Hz."""
    duration = samples.size / SAMPLE_RATE
    num_frames = round(duration * FPS)
    envelope = librosa.onset.onset_strength(y=samples, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    mfcc = librosa.feature.mfcc(y=samples, sr=SAMPLE_RATE, n_mfcc=20, hop_length=HOP_LENGTH).T
    chroma = librosa.feature.chroma_cens(
        y=samples, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_chroma=12
    ).T
    peaks = librosa.onset.onset_detect(
        onset_envelope=envelope, sr=SAMPLE_RATE, hop_length=HOP_LENGTH
    )
    start_bpm = float(
        librosa.feature.tempo(onset_envelope=envelope, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)[0]
    )
    tempo, beat_frames = librosa.beat.beat_track(
        onset_envelope=envelope,
        sr=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        start_bpm=start_bpm,
        tightness=BEAT_TIGHTNESS,
    )
    length = envelope.shape[0]
    features = np.concatenate(
        [
            envelope[:, None],
            mfcc[:length],
            chroma[:length],
            _one_hot(peaks, length)[:, None],
            _one_hot(beat_frames, length)[:, None],
        ],
        axis=1,
    )
    onset = _fit_frames(envelope, num_frames)
    beat_frames = beat_frames[beat_frames < num_frames]
    return AudioFeatures(
        features=_fit_frames(features, num_frames).astype(np.float32),
        onset=(onset / max(float(onset.max()), 1e-8)).astype(np.float32),
        beats=beat_frames.astype(np.float64) / FPS,
        tempo=float(np.atleast_1d(tempo)[0]),
        num_frames=num_frames,
        duration=duration,
    )
