"""Whole-pipeline figures on the embedded defaults (2 cores): first run vs fully cached re-run of a
10 s clip, peak RSS of a 30 s clip vs a 5 s clip, and the choreographer's beat alignment score.

    python bench/pipeline.py [--api-url URL]

Each figure comes from a fresh `music2dance` process, as a user would run it. Prefect start-up:
without PREFECT_API_URL every process that has work to do starts a temporary Prefect server; pass
--api-url of a running `prefect server start` to measure without that cost. A fully cached run
never starts Prefect (it plans from keys and finds everything present).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD_RSS = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)"
)


def music2dance(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one CLI process."""
    argv = [sys.executable, "-c", CHILD_RSS, sys.executable, "-m", "music2dance_cli.main", *args]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - start, int(done.stdout.strip().splitlines()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="a running Prefect server (skips its start-up cost)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from music2dance_cli.main import write_demo_inputs

    work = Path(tempfile.mkdtemp(prefix="m2d-bench-"))
    env = dict(os.environ, DO_NOT_TRACK="1", PREFECT_HOME=str(work / "prefect"))
    if args.api_url:
        env["PREFECT_API_URL"] = args.api_url
    clips = {s: write_demo_inputs(work / f"in{s}", seconds=s) for s in (5, 10, 30)}

    def run(seconds: int, store: str) -> tuple[float, int, dict]:
        audio, image = clips[seconds]
        report = work / f"r{seconds}-{store}.json"
        wall, rss = music2dance(
            [
                "--store",
                str(work / store),
                "run",
                "--audio",
                str(audio),
                "--image",
                str(image),
                "--out",
                str(work / "o.mp4"),
                "--report",
                str(report),
            ],
            env,
        )
        return wall, rss, json.loads(report.read_text())

    run(5, "warmup")  # numba/librosa JIT caches and Prefect's database, as on a used machine
    first, _, report = run(10, "s10")
    cached, _, again = run(10, "s10")
    assert all(s["cached"] for s in again["stages"])
    _, rss5, _ = run(5, "s5")
    _, rss30, _ = run(30, "s30")

    from artifacts.store import Store
    from tasks.body.beats import beat_alignment_score

    store = Store(work / "s10")
    keys = {s["name"]: s["key"] for s in report["stages"]}
    joints = store.open("motion", keys["motion"])["joints"][:]
    audio = store.open("audio", keys["audio"])
    bas = beat_alignment_score(joints, audio["beats"][:] * audio.attrs["fps"], audio.attrs["fps"])

    out = sys.stdout.write
    out(f"prefect api: {'running server' if args.api_url else 'temporary server per process'}\n")
    out(f"10 s clip, 512x512, first run:   {first:6.1f} s wall  (goal <= 20 s)\n")
    for s in report["stages"]:
        out(f"    {s['name']:<10} {s['seconds']:6.2f} s\n")
    out(f"10 s clip, fully cached re-run:  {cached:6.1f} s wall  (goal <= 3 s)\n")
    out(f"peak RSS 5 s clip:  {rss5:5d} MiB\npeak RSS 30 s clip: {rss30:5d} MiB\n")
    out(f"RSS ratio 30 s / 5 s: {rss30 / rss5:.2f}  (goal <= 1.3)\n")
    out(f"choreographer beat alignment score (10 s clip): {bas:.3f}  (EDGE ~0.23-0.26)\n")


if __name__ == "__main__":
    main()
