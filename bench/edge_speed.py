"""EDGE sampling speed: official-equivalent parity vs fast fp32 vs fast bf16, full-size weights.

Prints what this CPU offers for bf16 (as torch sees it), then per mode the wall time of the whole
`generate` (50-step long-form sampler, merge, FK), peak RSS and work per step, the speed-ups, and
how far the joint positions (metres) of fast fp32 and fast bf16 land from parity's. Each mode
runs in its own process so its peak RSS is its own. bf16 runs even where it is emulated, to show
why `motion.precision=auto` picks fp32 there. The modes run in interleaved rounds and each keeps
its fastest round: on a shared CPU a neighbour's burst then slows one round, not one mode.

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


MODES = {
    "parity": ("float32", True),
    "fast-fp32": ("float32", False),
    "fast-bf16": ("bfloat16", False),
}


def plausible_normalizer():
    """Root within +-2 m, 6D within +-1, contacts 0..1: joints land where a dancer's would."""
    import numpy as np

    from tasks.motion.edge.checkpoint import MinMaxNormalizer

    low = np.concatenate([np.zeros(4), -2 * np.ones(3), -np.ones(144)])
    high = np.concatenate([np.ones(4), 2 * np.ones(3), np.ones(144)])
    scale = 2.0 / (high - low)
    return MinMaxNormalizer(scale.astype(np.float32), (-1 - low * scale).astype(np.float32))


def run_child(args: argparse.Namespace) -> None:
    """One mode: build full-size EDGE with random weights, generate, report time, RSS, joints."""
    import numpy as np
    import torch

    from tasks.motion.edge.checkpoint import EdgeWeights
    from tasks.motion.edge.generate import generate
    from tasks.motion.edge.longform import split_windows
    from tasks.motion.edge.model import DanceDecoder, EdgeConfig

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = DanceDecoder(EdgeConfig(cond_feature_dim=args.cond_dim)).eval()
    with torch.no_grad():
        model.final_layer.weight.mul_(0.05)  # random weights would otherwise saturate at +-1
    weights = EdgeWeights(model, plausible_normalizer())
    frames = round(args.seconds * 30)
    music = np.random.default_rng(0).normal(size=(frames, args.cond_dim)).astype(np.float32)
    precision, parity = MODES[args.child]
    flops = step_flops(model, torch.from_numpy(split_windows(music)), parity=parity)
    start = time.perf_counter()
    motion = generate(
        weights, music, seed=0, guidance=2.0, steps=args.steps, sampler="ddim",
        parity=parity, precision=precision, device=args.device,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    np.savez(args.output, joints=motion.joints, motion151=motion.motion151)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    windows = len(split_windows(music))
    report = {"seconds": seconds, "rss_mib": rss_mib, "windows": windows, "gflop": flops / 1e9}
    json.dump(report, sys.stdout)


def bf16_capability() -> str:
    """What torch reports about this CPU's bf16 support."""
    import torch

    from tasks.motion.edge.precision import cpu_has_native_bf16, sampling_dtype

    probes = {
        name: getattr(torch.cpu, f"_is_{name}_supported", lambda: None)()
        for name in ("avx512_bf16", "amx_tile")
    }
    auto = sampling_dtype("auto", "cpu", parity=False)
    return (
        f"CPU: capability {torch.backends.cpu.get_cpu_capability()}, "
        f"oneDNN bf16 {torch.ops.mkldnn._is_mkldnn_bf16_supported()} (emulated counts), "
        f"{', '.join(f'{k} {v}' for k, v in probes.items())} -> native bf16 "
        f"{cpu_has_native_bf16()}; motion.precision=auto picks {str(auto).removeprefix('torch.')}"
    )


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
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best kept)")
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    import numpy as np

    results: dict[str, dict] = {}
    outputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for mode in MODES:
                out = Path(tmp) / f"{mode}.npz"
                cmd = [sys.executable, __file__, "--child", mode, "--output", str(out)]
                cmd += ["--seconds", str(args.seconds), "--steps", str(args.steps)]
                cmd += ["--cond-dim", str(args.cond_dim), "--threads", str(args.threads)]
                cmd += ["--device", args.device]
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                report = json.loads(done.stdout)
                if mode not in results or report["seconds"] < results[mode]["seconds"]:
                    results[mode] = report
                with np.load(out) as data:
                    outputs[mode] = dict(data)  # deterministic: every round gives the same
    windows = results["parity"]["windows"]
    lines = [
        bf16_capability(),
        f"EDGE full size (cond {args.cond_dim}), {args.seconds:g} s song = {windows} windows, "
        f"{args.steps} DDIM steps, guidance 2, device {args.device}, threads "
        f"{args.threads or 'default'}, best of {args.rounds} interleaved rounds",
        f"{'mode':<11}{'wall s':>9}{'x parity':>10}{'peak RSS MiB':>14}{'GFLOP/step':>12}"
        f"{'joints max m':>14}{'mean m':>9}",
    ]
    parity = outputs["parity"]["joints"]
    for mode, r in results.items():
        diff = np.abs(outputs[mode]["joints"] - parity)
        lines.append(
            f"{mode:<11}{r['seconds']:>9.1f}{results['parity']['seconds'] / r['seconds']:>10.2f}"
            f"{r['rss_mib']:>14.0f}{r['gflop']:>12.1f}{diff.max():>14.2e}{diff.mean():>9.1e}"
        )
    bf16 = np.abs(outputs["fast-bf16"]["joints"] - outputs["fast-fp32"]["joints"])
    raw = np.abs(outputs["fast-bf16"]["motion151"] - outputs["fast-fp32"]["motion151"])
    speedup = results["fast-fp32"]["seconds"] / results["fast-bf16"]["seconds"]
    lines.append(
        f"fast bf16 vs fast fp32: {speedup:.2f}x; "
        f"joints max {bf16.max():.3f} m, mean {bf16.mean():.4f} m, p99 "
        f"{np.quantile(bf16, 0.99):.3f} m; motion151 max {raw.max():.2e}"
    )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
