"""What leaves the store for a user: a run's motion as a file (EDGE pkl, npz, BVH) and the
driving video a stage made (render or densepose) as an mp4 with the music."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from artifacts.files import write_atomic
from tasks.base import InputError

MOTION_FORMATS = ("pkl", "npz", "bvh")
VIDEO_STAGES = ("render", "densepose")  # stages whose frames drive the animator
EXPORTS = {"motion": MOTION_FORMATS, **dict.fromkeys(VIDEO_STAGES, ("mp4",))}
BLOCK = 16  # frames read from the store at a time


def check_export(stage: str, fmt: str) -> None:
    if stage not in EXPORTS:
        raise InputError(f"export --stage {stage}: choose one of {', '.join(EXPORTS)}")
    if fmt not in EXPORTS[stage]:
        raise InputError(
            f"export --stage {stage} --format {fmt}: {stage} exports as {', '.join(EXPORTS[stage])}"
        )


def driving_frames(stage: str, group: Any) -> Iterator[np.ndarray]:
    """(n, H, W, 3) uint8 blocks of the stage's driving video: DensePose's colours, or the
    render's shaded preview (its part maps in DensePose's colours when it has none)."""
    from tasks.densepose.colors import colorize

    if stage == "densepose" or "preview" in group:
        frames = group["rgb" if stage == "densepose" else "preview"]
        for start in range(0, frames.shape[0], BLOCK):
            yield np.asarray(frames[start : start + BLOCK])
        return
    parts = group["parts"]
    for start in range(0, parts.shape[0], BLOCK):
        yield colorize(np.asarray(parts[start : start + BLOCK]))


def write_driving_video(stage: str, group: Any, audio: Path, out: Path, crf: int) -> Path:
    """The stage's driving video as H.264 with the music, cropped to even sides."""
    from tasks.animate.video import VideoWriter

    num_frames, height, width = group["rgb" if stage == "densepose" else "parts"].shape[:3]
    even = (height - height % 2, width - width % 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fps = float(group.attrs["fps"])
    with VideoWriter(
        out, size=even, num_frames=num_frames, fps=fps, audio_path=audio, crf=crf
    ) as writer:
        for block in driving_frames(stage, group):
            writer.write(block[:, : even[0], : even[1]])
    return out


def export_artifact(
    store: Any,
    stage: str,
    key: str,
    fmt: str,
    out: Path,
    audio: Path | None = None,
    crf: int | None = None,
) -> Path:
    """Write the artifact (stage, key) to `out`; never from damaged data (a damaged copy is
    evicted and the user is told to run the clip again)."""
    check_export(stage, fmt)
    if not store.has(stage, key):
        raise InputError(f"{stage} {key[:12]} is not in {store.root}: run the clip first")
    if reason := store.verify_one(stage, key):
        store.evict(stage, key)
        raise InputError(f"{stage} {key[:12]} was damaged ({reason}, evicted): run the clip again")
    if fmt != "mp4":
        from tasks.motion.export import motion_file

        return write_atomic(Path(out).expanduser(), motion_file(store.open(stage, key), fmt))
    if audio is None or crf is None:
        raise InputError("export --format mp4 muxes the run's music: pass --audio (and --image)")
    return write_driving_video(stage, store.open(stage, key), audio, out, crf)
