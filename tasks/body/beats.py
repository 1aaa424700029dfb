"""Motion-music metrics used to judge generated dances."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

_SMOOTH_SIGMA = 5.0  # frames, Bailando's kinetic-velocity smoothing
_BEAT_SIGMA_SQ = 9.0  # frames^2: exp(-d^2 / (2 * 9)) = exp(-d^2 / 18)


def motion_beats(joints: np.ndarray) -> np.ndarray:
    """Frame indices of motion beats: local minima of the smoothed mean joint speed (T,24,3)."""
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1)
    return argrelextrema(gaussian_filter1d(speed, _SMOOTH_SIGMA), np.less)[0]


def beat_alignment_score(joints: np.ndarray, music_beats_frames: np.ndarray, fps: float) -> float:
    """Bailando beat alignment score in [0, 1]: mean over music beats of exp(-d^2 / 18).

    `joints` (T,24,3) are positions at `fps`; `music_beats_frames` (n,) are beat positions in
    frames at that rate; d is the distance in frames to the nearest motion beat. Distances are
    measured in 30 fps frames whatever `fps` is, so scores compare across frame rates.
    """
    music = np.asarray(music_beats_frames, dtype=np.float64) * (30.0 / fps)
    motion = motion_beats(joints).astype(np.float64) * (30.0 / fps)
    if music.size == 0 or motion.size == 0:
        return 0.0
    dist = np.abs(music[:, None] - motion[None, :]).min(axis=1)
    return float(np.mean(np.exp(-(dist**2) / (2 * _BEAT_SIGMA_SQ))))
