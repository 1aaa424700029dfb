"""Peak RSS and seconds per frame of the MagicAnimate pipeline, short clip vs a 3x longer one.

Tiny random components (CPU, fp32), latents streamed through a zarr array, decoded chunks dropped
as soon as they exist (the stage writes them out). Each length runs in a fresh process, so each
peak RSS is its own.

    .venv/bin/python bench/animate_memory.py [--frames 16] [--size 128] [--steps 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(frames: int, size: int, steps: int) -> dict[str, float]:
    """Animate `frames` frames of `size`^2 pixels in this process; return timings and peak RSS."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    import zarr
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    from tasks.animate.magicanimate.pipeline import MagicAnimatePipeline, magicanimate_scheduler
    from tasks.animate.magicanimate.unet import build_video_unet
    from tasks.animate.magicanimate.windows import padded_length
    from tests.tasks.animate.magicanimate.ma_seeding import TINY_2D as TINY_UNET
    from tests.tasks.animate.magicanimate.ma_seeding import TINY_VAE

    torch.manual_seed(0)
    dropped = ("sample_size", "up_block_types", "out_channels")  # not ControlNet arguments
    cn_config = {k: v for k, v in TINY_UNET.items() if k not in dropped}
    pipe = MagicAnimatePipeline(
        vae=AutoencoderKL(**TINY_VAE).eval(),
        unet=build_video_unet(TINY_UNET).eval(),
        controlnet=ControlNetModel(
            **cn_config, conditioning_embedding_out_channels=(8, 8, 16, 16)
        ).eval(),
        appearance_encoder=UNet2DConditionModel(**TINY_UNET).eval(),
        scheduler=magicanimate_scheduler(),
    )
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        condition = zarr.open_array(
            f"{tmp}/cond.zarr",
            mode="w",
            shape=(frames, size, size, 3),
            chunks=(8, size, size, 3),
            dtype="uint8",
        )
        for start in range(0, frames, 8):
            n = min(8, frames - start)
            condition[start : start + n] = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        total = padded_length(frames, 16)
        latents = zarr.open_array(
            f"{tmp}/latents.zarr",
            mode="w",
            shape=(total, 4, size // 8, size // 8),
            chunks=(16, 4, size // 8, size // 8),
            dtype="float32",
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        pipe(
            reference,
            condition,
            num_inference_steps=steps,
            generator=torch.Generator().manual_seed(0),
            prompt_embeds=torch.zeros(1, 8, 32),
            latents_store=latents,
            output_type="latent",
        )
        for _chunk in pipe.iter_frames(latents, frames):
            pass  # the stage writes each chunk to zarr and ffmpeg here
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "frames": frames,
        "seconds_per_frame": seconds / frames,
        "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - rss_before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(run_child(args.frames, args.size, args.steps)) + "\n")
        return
    rows = []
    for frames in (args.frames, 3 * args.frames):
        cmd = [sys.executable, __file__, "--child", "--frames", str(frames)]
        cmd += ["--size", str(args.size), "--steps", str(args.steps)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    decoded_mb = 3 * args.frames * args.size * args.size * 3 / 2**20
    lines = [f"tiny MagicAnimate, {args.size}x{args.size}, {args.steps} steps, CPU fp32"]
    for r in rows:
        lines.append(
            f"{r['frames']:5d} frames: {r['seconds_per_frame']:.3f} s/frame, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB (+{r['rss_growth_mb']:.0f} MB while animating)"
        )
    lines.append(
        f"peak RSS ratio long/short: {rows[1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.3f} "
        f"(all {3 * args.frames} decoded frames alone would be {decoded_mb:.0f} MB)"
    )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
