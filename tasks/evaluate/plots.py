"""Figures for an evaluated clip, as matplotlib Figures (the caller saves them; Agg, no display)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter1d

from tasks.body.beats import motion_beats
from tasks.evaluate.body import FrameCheck, PhotoBody

CYAN, RED, MAGENTA, YELLOW = (0, 255, 255), (255, 0, 0), (255, 0, 255), (255, 255, 0)
PART_NAMES = (("head", (23, 24)), ("torso", (1, 2)), ("arms", (15, 16, 17, 18, 19, 20, 21, 22)),
              ("hands", (3, 4)), ("thighs", (7, 8, 9, 10)), ("shins", (11, 12, 13, 14)),
              ("feet", (5, 6)))  # fmt: skip


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


def overlay(frame: np.ndarray, check: FrameCheck) -> np.ndarray:
    """frame (h, w, 3) uint8 with what the body metrics saw: the driving silhouette the dancer
    should fill outlined in cyan, the part of it left uncovered red, leftovers of the photo's
    person magenta, loose fragments yellow."""
    out = frame.astype(np.float32)
    for mask, colour in ((check.missing, RED), (check.leftover, MAGENTA), (check.fragment, YELLOW)):
        out[mask] = 0.4 * out[mask] + 0.6 * np.asarray(colour, np.float32)
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(
        check.silhouette.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    cv2.drawContours(out, contours, -1, CYAN, max(1, frame.shape[0] // 256))
    return out


def photo_panel(reference: np.ndarray, photo: PhotoBody) -> tuple[np.ndarray, str]:
    """The reference (h, w, 3) uint8 with its person outlined in cyan and its forearm cores (the
    hands that must leave with the arms) in magenta, and a caption naming the parts it shows."""
    out = reference.copy()
    out[photo.forearms] = (0.4 * out[photo.forearms] + 0.6 * np.asarray(MAGENTA)).astype(np.uint8)
    contours, _ = cv2.findContours(
        photo.person.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    cv2.drawContours(out, contours, -1, CYAN, max(1, reference.shape[0] // 256))
    shown = [name for name, parts in PART_NAMES if photo.shown[list(parts)].any()]
    return out, "photo shows " + ", ".join(shown)


def contact_sheet_figure(
    reference: np.ndarray,
    photo: PhotoBody,
    frames: Sequence[np.ndarray],
    checks: Sequence[FrameCheck],
    indices: Sequence[int],
    fps: float,
    title: str = "",
) -> Figure:
    """The frames a person would check: the reference photo (see `photo_panel`), then each
    (H, W, 3) uint8 frame beside its overlay (see `overlay`), titled with its index, time and
    body measures."""
    columns = 4
    rows = 1 + -(-len(frames) // 2)
    h, w = reference.shape[:2]
    height = rows * 2.6 * h / w + 0.6
    fig = Figure(figsize=(columns * 2.6, height), dpi=100)
    panels = [photo_panel(reference, photo)]
    for frame, check, index in zip(frames, checks, indices, strict=True):
        measures = (
            f"cov {check.coverage:.2f} left {check.leftovers:.3f} "
            f"frag {check.fragments} fill {check.fill_quality:.2f}"
        )
        panels += [(frame, f"#{index}  {index / fps:.2f} s"), (overlay(frame, check), measures)]
    for i, (image, caption) in enumerate(panels):
        # The reference fills the first row alone (its row's other cells stay empty).
        ax = fig.add_subplot(rows, columns, 1 if i == 0 else i + columns)
        ax.axis("off")
        ax.imshow(image)
        ax.set_title(caption, fontsize=7)
    fig.suptitle(
        (f"{title}\n" if title else "")
        + "cyan: driving silhouette the photo shows | red: not covered | magenta: leftovers of the "
        "photo's person | yellow: fragments",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # the legend's two lines stay clear
    return fig
