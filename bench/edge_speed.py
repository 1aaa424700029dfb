"""EDGE sampling speed: parity mode vs fast mode, full-size random weights.

Each mode runs in its own process so its peak RSS is its own. Prints wall time, peak RSS and the
parity/fast ratio, plus the largest difference between the two outputs.

    .venv/bin/python bench/edge_speed.py                  # 30 s song (11 windows), 50 DDIM steps
    .venv/bin/python bench/edge_speed.py --seconds 12.5   # fewer windows on a slow CPU
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
sys.path.insert(0, str(ROOT))


def run_child(args: argparse.Namespace) -> None:
    """One mode: build full-size EDGE with random weights, sample, report time, RSS, output."""
    import numpy as np
    import torch

    from tasks.motion.edge.checkpoint import EdgeWeights, MinMaxNormalizer
    from tasks.motion.edge.generate import sample_windows
    from tasks.motion.edge.longform import split_windows
    from tasks.motion.edge.model import DanceDecoder, EdgeConfig

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = DanceDecoder(EdgeConfig(cond_feature_dim=args.cond_dim)).eval()
    with torch.no_grad():
        model.final_layer.weight.mul_(0.05)  # random weights would otherwise saturate at +-1
    weights = EdgeWeights(
        model, MinMaxNormalizer(np.ones(151, np.float32), np.zeros(151, np.float32))
    )
    frames = round(args.seconds * 30)
    music = np.random.default_rng(0).normal(size=(frames, args.cond_dim)).astype(np.float32)
    cond = torch.from_numpy(split_windows(music))
    flops = step_flops(model, cond, parity=args.child == "parity")
    start = time.perf_counter()
    out = sample_windows(
        weights, cond, seed=0, guidance=2.0, steps=args.steps, sampler="ddim",
        parity=args.child == "parity", device=args.device,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    np.save(args.output, out.numpy())
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"seconds": seconds, "rss_mib": rss_mib, "windows": len(cond), "gflop": flops / 1e9}
    json.dump(report, sys.stdout)


def step_flops(model, cond, parity: bool) -> float:
    """FLOPs of one guided denoising step (matmuls and attention), counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from tasks.motion.edge.diffusion import make_denoiser

    x = torch.zeros(cond.shape[0], 150, model.config.nfeats)
    with torch.inference_mode():
        denoiser = make_denoiser(model, cond, fast=not parity)  # fast: music encoded once here
        with FlopCounterMode(display=False) as counter:
            denoiser(x, 500, 2.0)
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="song length")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps")
    parser.add_argument("--cond-dim", type=int, default=4800, help="4800 Jukebox or 35 baseline")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", choices=["parity", "fast"], help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    import numpy as np

    results, outputs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("parity", "fast"):
            out = Path(tmp) / f"{mode}.npy"
            cmd = [sys.executable, __file__, "--child", mode, "--output", str(out)]
            cmd += ["--seconds", str(args.seconds), "--steps", str(args.steps)]
            cmd += ["--cond-dim", str(args.cond_dim), "--threads", str(args.threads)]
            cmd += ["--device", args.device]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[mode] = json.loads(done.stdout)
            outputs[mode] = np.load(out)
    windows = results["parity"]["windows"]
    lines = [
        f"EDGE full size (cond {args.cond_dim}), {args.seconds:g} s song = {windows} windows, "
        f"{args.steps} DDIM steps, guidance 2, device {args.device}",
        f"{'mode':<8}{'wall s':>10}{'peak RSS MiB':>15}{'GFLOP/step':>12}",
    ]
    for mode, r in results.items():
        lines.append(f"{mode:<8}{r['seconds']:>10.1f}{r['rss_mib']:>15.0f}{r['gflop']:>12.1f}")
    ratio = results["parity"]["seconds"] / results["fast"]["seconds"]
    diff = float(np.abs(outputs["parity"] - outputs["fast"]).max())
    flop_ratio = results["parity"]["gflop"] / results["fast"]["gflop"]
    lines.append(f"speed-up parity/fast: {ratio:.2f}x; max |parity - fast| = {diff:.2e}")
    lines.append(
        f"work ratio parity/fast: {flop_ratio:.2f}x (fp32 matmuls run near the core's peak, so "
        "speed beyond this ratio needs bf16/fp16 hardware: a GPU or an AMX CPU)"
    )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
