"""Frame-level video fidelity against a ground-truth video: PSNR and SSIM (Wang et al. 2004).

Frames are (H, W, 3) uint8 RGB; iterables are consumed one frame at a time so a whole video is
never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

MAX_PSNR = 100.0  # dB reported for identical frames (PSNR is infinite there)


def psnr(generated: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB of two (H, W, 3) uint8 frames; identical frames give MAX_PSNR."""
    if np.array_equal(generated, truth):
        return MAX_PSNR
    return float(peak_signal_noise_ratio(truth, generated, data_range=255))


def ssim(generated: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM of two (H, W, 3) uint8 frames (skimage: 7x7 uniform window, channels averaged)."""
    return float(structural_similarity(truth, generated, channel_axis=-1, data_range=255))


def match_size(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if frame.shape[:2] == shape[:2]:
        return frame
    return cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def fidelity_per_frame(
    generated: Iterable[np.ndarray], truth: Iterable[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(PSNR (n,), SSIM (n,)) over the first n = min(len) frame pairs.

    Ground-truth frames of another size are resized (area) to the generated frames' size.
    """
    scores = [
        (psnr(g, t := match_size(t_raw, g.shape)), ssim(g, t))
        for g, t_raw in zip(generated, truth, strict=False)
    ]
    if not scores:
        return np.zeros(0), np.zeros(0)
    values = np.asarray(scores, dtype=np.float64)
    return values[:, 0], values[:, 1]
