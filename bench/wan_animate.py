"""Wan2.2-Animate-14B on a GPU: frames/s and peak GPU memory at 480p and 720p, per memory option.

Needs a CUDA GPU and the Wan-AI/Wan2.2-Animate-14B-Diffusers folder. Each configuration loads the
pipeline afresh (offload hooks stay on a pipeline), then animates one photo with a swinging-arms
pose through the stage's own segment loop (tasks/animate/wan/segments.py); load time is left out
of frames/s. On a machine without CUDA it prints one line and exits 1.

    .venv/bin/python bench/wan_animate.py --weights DIR [--photo PATH] [--frames 77] [--steps 20]
        [--sizes 480p 720p] [--options none tiling model group group+tiling]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"480p": (832, 480), "720p": (1280, 720)}  # portrait (H, W), Wan's two trained areas
OPTIONS = {  # name -> (animate.wan_offload, animate.wan_vae_tiling)
    "none": ("none", False),
    "tiling": ("none", True),
    "model": ("model", False),
    "group": ("group", False),
    "group+tiling": ("group", True),
}
PHOTO = ROOT.parent / "shared" / "photos" / "demo4.png"


def swinging_pose(frames: int, height: int, width: int):
    """(T, 20, 3) keypoints of a standing person whose arms swing up and down."""
    import numpy as np

    # A standing skeleton on a 512 x 512 canvas, in tasks.render.openpose.KEYPOINTS order.
    stand = np.array([
        [256, 100], [256, 150], [216, 152], [200, 220], [196, 285], [296, 152], [312, 220],
        [316, 285], [232, 290], [228, 380], [226, 465], [280, 290], [284, 380], [286, 465],
        [248, 92], [264, 92], [238, 98], [274, 98], [296, 478], [216, 478],
    ], dtype=float)  # fmt: skip
    out = np.repeat(np.c_[stand * (height / 512, width / 512), np.ones(20)][None], frames, 0)
    for t in range(frames):
        angle = 1.2 * np.sin(2 * np.pi * t / 30)
        c, s = np.cos(angle), np.sin(angle)
        for shoulder, arm, side in ((2, [3, 4], 1), (5, [6, 7], -1)):
            rot = np.array([[c, side * s], [-side * s, c]])
            centre = out[t, shoulder, :2]
            out[t, arm, :2] = centre + (out[t, arm, :2] - centre) @ rot
    return out


def run(args: argparse.Namespace, size: str, option: str) -> dict[str, float]:
    """Load, place and animate once; seconds, frames/s and peak GiB on the GPU."""
    import torch
    from PIL import Image

    from tasks.align.face import detect_faces, load_reference
    from tasks.animate.wan.face import face_frame
    from tasks.animate.wan.loading import load_pipeline, place_pipeline
    from tasks.animate.wan.segments import SegmentPlan, animate_segments
    from tasks.render.openpose import draw_pose

    height, width = SIZES[size]
    offload, tiling = OPTIONS[option]
    device = torch.device("cuda")
    t0 = time.perf_counter()
    pipe = load_pipeline(args.weights, torch.bfloat16)
    place_pipeline(pipe, device, offload, tiling)
    load_s = time.perf_counter() - t0
    photo = load_reference(args.photo)
    face = detect_faces(photo, str(args.photo))[0]
    face_img = face_frame(photo, list(face), pipe.transformer.config.motion_encoder_size)
    keypoints = swinging_pose(args.frames, height, width)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    written = 0
    for chunk in animate_segments(
        pipe,
        reference=Image.fromarray(photo),  # the pipeline fills (height, width) with it
        pose_frame=lambda i: Image.fromarray(draw_pose(height, width, keypoints[i])),
        face=Image.fromarray(face_img),
        plan=SegmentPlan(args.frames, 77, 1),
        height=height,
        width=width,
        steps=args.steps,
        guidance=1.0,
        prompt="视频中的人在做动作",
        generator=torch.Generator("cpu").manual_seed(0),
    ):
        written += len(chunk)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30
    reserved = torch.cuda.max_memory_reserved() / 2**30
    del pipe
    gc.collect()
    torch.cuda.empty_cache()
    return {"load_s": load_s, "fps": written / seconds, "peak_gib": peak, "reserved_gib": reserved}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="Wan2.2-Animate-14B-Diffusers folder")
    parser.add_argument("--photo", type=Path, default=PHOTO)
    parser.add_argument("--frames", type=int, default=77, help="77: one segment")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--sizes", nargs="+", choices=tuple(SIZES), default=list(SIZES))
    parser.add_argument("--options", nargs="+", choices=tuple(OPTIONS), default=list(OPTIONS))
    args = parser.parse_args()
    import torch

    from tasks.animate.wan.loading import resolve_weights
    from tasks.base import InputError

    if not torch.cuda.is_available():
        say("bench/wan_animate.py needs a CUDA GPU; none found, nothing measured")
        return 1
    try:
        args.weights = resolve_weights(args.weights)
    except InputError as err:
        say(str(err))
        return 1
    say(f"{torch.cuda.get_device_name()}; {args.frames} frames, {args.steps} steps per segment")
    say(f"{'size':6} {'option':13} {'load s':>7} {'frames/s':>9} {'peak GiB':>9} {'reserved':>9}")
    for size in args.sizes:
        for option in args.options:
            try:
                r = run(args, size, option)
            except torch.cuda.OutOfMemoryError:
                say(f"{size:6} {option:13} out of GPU memory")
                gc.collect()
                torch.cuda.empty_cache()
                continue
            say(
                f"{size:6} {option:13} {r['load_s']:7.1f} {r['fps']:9.3f} "
                f"{r['peak_gib']:9.1f} {r['reserved_gib']:9.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
