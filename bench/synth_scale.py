"""Batch-synthesis figures on the embedded defaults: plan + skip of a 1,000-row all-cached manifest,
per-clip orchestration overhead on cache misses, and throughput with 1 vs 2 Dask workers.

    python bench/synth_scale.py [--rows 1000] [--clips 4] [--seconds 3]

Clips are short (3 s) at 128 px with the preview animator, so stage work is small and the
orchestration cost shows. One Prefect server (started here, on 127.0.0.1) serves every run, so
its start-up is not counted. The all-cached figure is a fresh `music2dance synth` process, as a
user would run it; the others run in this process after a warm-up row.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FAST = ["render.resolution=128", "align.resolution=128", "animate.model=preview"]


def write_manifest(path: Path, audio: Path, image: Path, seeds: list[int]) -> Path:
    rows = [(str(audio), str(image), seed, "") for seed in seeds]
    pd.DataFrame(rows, columns=["audio", "image", "seed", "set"]).to_csv(path, index=False)
    return path


def synth_args(store: Path, manifest: Path, out: Path, *extra: str) -> list[str]:
    sets = [a for s in FAST for a in ("--set", s)]
    return ["--store", str(store), "synth", "--manifest", str(manifest), "--out", str(out)] + [
        *sets,
        *extra,
    ]


def synth_here(args: list[str]) -> tuple[float, dict]:
    """Wall seconds and summary of `music2dance synth` in this process (its JSON kept quiet)."""
    from music2dance_cli.main import main as cli

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        cli(args)
    seconds = time.perf_counter() - start
    out = Path(args[args.index("--out") + 1])
    return seconds, json.loads((out / "summary.json").read_text())


def stage_seconds(store: Path) -> float:
    """Sum of the compute seconds every artifact in `store` recorded in its lineage."""
    from artifacts.remote import open_store

    s = open_store(store)
    return sum(float(s.lineage(stage, key).get("seconds", 0.0)) for stage, key, _ in s.records())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows of the all-cached manifest")
    parser.add_argument("--clips", type=int, default=4, help="cache-miss clips per figure")
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length")
    args = parser.parse_args()
    from flows.runners import local_server
    from music2dance_cli.main import write_demo_inputs

    work = Path(tempfile.mkdtemp(prefix="m2d-synth-bench-"))
    os.environ.update(DO_NOT_TRACK="1", PREFECT_HOME=str(work / "prefect-client"))
    audio, image = write_demo_inputs(work / "inputs", seconds=args.seconds)
    lines = [f"clips of {args.seconds:g} s, 128 px, preview animator; {os.cpu_count()} cores"]
    with local_server(work / "prefect") as url:
        # 1. warm-up (imports, numba, face model) and the cache for the all-cached figure
        warm = write_manifest(work / "warm.csv", audio, image, [0, 1])
        synth_here(synth_args(work / "store", warm, work / "out-warm"))

        # 2. per-clip orchestration overhead on misses: one worker, so wall = stages + overhead
        misses = write_manifest(work / "miss.csv", audio, image, list(range(100, 100 + args.clips)))
        wall, summary = synth_here(
            synth_args(work / "store-miss", misses, work / "out-miss", "--workers", "1")
        )
        compute = stage_seconds(work / "store-miss")
        per_clip = (wall - compute) / args.clips
        lines.append(
            f"cache misses, 1 worker: {args.clips} clips ({summary['computed']} artifacts) in "
            f"{wall:.1f} s, stage compute {compute:.1f} s -> orchestration {per_clip:.2f} s/clip"
        )

        # 3. throughput, 1 vs 2 Dask worker processes (fresh store each, same rows)
        rates = {}
        for workers in (1, 2):
            store = work / f"store-dask{workers}"
            extra = ("--runner", "dask", "--workers", str(workers))
            wall, _ = synth_here(synth_args(store, misses, work / f"out-dask{workers}", *extra))
            rates[workers] = args.clips / wall * 60
            lines.append(f"dask {workers} worker(s): {wall:.1f} s, {rates[workers]:.1f} clips/min")
        lines.append(f"throughput 2 vs 1 Dask workers: {rates[2] / rates[1]:.2f}x")

        # 4. plan + skip: a fresh process over a manifest whose rows are all in the store
        cached = write_manifest(
            work / "cached.csv", audio, image, [i % 2 for i in range(args.rows)]
        )
        argv = [sys.executable, "-m", "music2dance_cli.main"]
        argv += synth_args(work / "store", cached, work / "out-cached")
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=dict(os.environ, PREFECT_API_URL=url), check=True,
                       capture_output=True)  # fmt: skip
        lines.append(
            f"{args.rows}-row all-cached manifest, fresh process: {time.perf_counter() - start:.1f}"
            " s end to end (goal <= 30 s)"
        )
        from flows.synthesize import plan_manifest, read_manifest

        start = time.perf_counter()
        plans = plan_manifest(read_manifest(cached), str(work / "store"), FAST)
        hits = sum(all(p.cached.values()) for p in plans)
        lines.append(f"  of which planning {args.rows} rows ({hits} all cached) in this process: "
                     f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    sys.stdout.write("\n".join(lines) + f"\n(work files in {work})\n")


if __name__ == "__main__":
    main()
