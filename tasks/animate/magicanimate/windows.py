"""Frame bookkeeping for long videos: padding, closed-loop context windows, tiled initial noise.

MagicAnimate denoises a clip in windows of 16 frames overlapping by 4 (starts 0, 12, 24, ...);
the last window wraps around to the start of the clip (closed loop), and the noise predictions
of overlapping windows are averaged per frame. The driving video is edge-padded to a multiple of
the window first, and one 16-frame noise tensor is tiled over the whole clip.
Reference: magic-research/magic-animate `magicanimate/pipelines/context.py` (`uniform`, step 0).
"""

from __future__ import annotations

import math

import torch


def padded_length(num_frames: int, window: int) -> int:
    """Frames after edge-padding the driving video to a multiple of `window`."""
    return math.ceil(num_frames / window) * window


def context_windows(num_frames: int, window: int, overlap: int) -> list[list[int]]:
    """Frame indices of each window; the last window wraps around to frame 0 (closed loop)."""
    if not 0 <= overlap < window:
        raise ValueError(f"overlap {overlap} must be in [0, window={window})")
    if num_frames <= window:
        return [list(range(num_frames))]
    return [
        [i % num_frames for i in range(start, start + window)]
        for start in range(0, num_frames, window - overlap)
    ]


def last_use(windows: list[list[int]], num_frames: int) -> list[int]:
    """Index of the last window that reads each frame (after it, the frame's step is final)."""
    last = [-1] * num_frames
    for w, frames in enumerate(windows):
        for f in frames:
            last[f] = w
    if min(last) < 0:
        raise ValueError("windows do not cover every frame")
    return last


def tiled_noise(
    channels: int,
    height: int,
    width: int,
    *,
    clip: int,
    generator: torch.Generator | None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The official initial noise (1, c, clip, h, w); frame i of a clip uses `[:, :, i % clip]`."""
    return torch.randn((1, channels, clip, height, width), generator=generator, dtype=dtype)
