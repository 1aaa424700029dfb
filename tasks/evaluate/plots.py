"""Figures for an evaluated clip, as matplotlib Figures (the caller saves them; Agg, no display)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter1d

from tasks.motion.metrics import motion_beats


def beats_figure(joints: np.ndarray, music_beats: np.ndarray, fps: float, title: str) -> Figure:
    """Music beats (s) as vertical lines over the smoothed mean joint speed (m/s) of (T, 24, 3)
    joints, with the motion beats (its local minima, as BAS uses them) marked."""
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean(axis=1) * fps
    smooth = gaussian_filter1d(speed, 5.0)
    t = (np.arange(len(smooth)) + 0.5) / fps
    fig = Figure(figsize=(10, 3.2), dpi=100)
    ax = fig.add_subplot()
    for i, beat in enumerate(music_beats):
        ax.axvline(
            beat, color="tab:orange", lw=0.8, alpha=0.7, label="music beat" if i == 0 else None
        )
    ax.plot(t, smooth, color="tab:blue", lw=1.2, label="mean joint speed (smoothed)")
    mb = motion_beats(joints)
    ax.plot(t[mb], smooth[mb], "v", color="tab:red", ms=6, label="motion beat")
    ax.set(xlabel="time (s)", ylabel="speed (m/s)", title=title, xlim=(0, len(joints) / fps))
    ax.legend(loc="lower right", fontsize=8, ncols=3, framealpha=0.9)
    fig.tight_layout()
    return fig


def contact_sheet_figure(
    frames: Sequence[np.ndarray], indices: Sequence[int], fps: float, columns: int = 4
) -> Figure:
    """A grid of (H, W, 3) uint8 frames, each titled with its frame index and time."""
    rows = max(1, -(-len(frames) // columns))
    h, w = frames[0].shape[:2]
    fig = Figure(figsize=(columns * 2.6, rows * 2.6 * h / w + 0.3), dpi=100)
    for i in range(rows * columns):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.axis("off")
        if i < len(frames):
            ax.imshow(frames[i])
            ax.set_title(f"#{indices[i]}  {indices[i] / fps:.2f} s", fontsize=8)
    fig.tight_layout()
    return fig
