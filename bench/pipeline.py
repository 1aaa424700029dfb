"""Whole-pipeline figures on the embedded defaults, as a user meets them: seconds to the first
line, a 10 s clip's first run and its fully cached re-run, from a fresh clone and from a warm one.

    python bench/pipeline.py [--api-url URL] [--rss]

"Fresh clone": the working tree copied as the next commit would hold it (no caches, no store)
and an empty NUMBA_CACHE_DIR, so every jitted function (ours and librosa's) starts uncompiled as
on a new machine; then the last step of `make setup` (`python -m flows.precompile`, timed on its
own line) and the first run. "Warm": the same clone again, on a new store. Each figure
comes from its own `music2dance` process. Without --api-url a single run starts no Prefect
server (flows/execute.py); with it, the run is a flow on that server. --rss adds the peak RSS of
a 30 s clip vs a 5 s clip and the choreographer's beat alignment score.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD_RSS = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)"
)


def music2dance(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(seconds to the first stderr line, wall seconds, peak RSS MiB) of one CLI process."""
    argv = [sys.executable, "-c", CHILD_RSS, sys.executable, "-m", "music2dance_cli.main", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first: list[float] = []
    lines: list[bytes] = []

    def read_stderr() -> None:
        for line in proc.stderr:
            first.append(first[0] if first else time.perf_counter() - start)
            lines.append(line)

    reader = threading.Thread(target=read_stderr)
    reader.start()
    out = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - start
    reader.join()
    if proc.returncode:
        raise SystemExit(b"".join(lines[-20:]).decode(errors="replace"))
    return (first[0] if first else wall), wall, int(out.decode().strip().splitlines()[-1]) // 1024


def setup_seconds(env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of `make setup`'s last step, which compiles the numba kernels once."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flows.precompile"],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def temporary_server_seconds(home: Path) -> float:
    """Seconds until a fresh `prefect server start` answers: what a single local run would
    wait for if it ran as a flow without PREFECT_API_URL."""
    from flows.runners import local_server

    start = time.perf_counter()
    with local_server(home):
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="a running Prefect server: runs become flows on it")
    parser.add_argument("--rss", action="store_true", help="also peak RSS 5 s vs 30 s and BAS")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from music2dance_cli.main import write_demo_inputs
    from tests.flows.fresh_clone import fresh_clone

    work = Path(tempfile.mkdtemp(prefix="m2d-bench-"))
    clone = fresh_clone(work / "clone")  # what the next commit holds: no caches, no store
    env = dict(
        os.environ,
        DO_NOT_TRACK="1",
        PREFECT_HOME=str(work / "prefect"),
        NUMBA_CACHE_DIR=str(work / "numba"),
        PYTHONPATH=str(clone),
    )
    env.pop("PREFECT_API_URL", None)
    if args.api_url:
        env["PREFECT_API_URL"] = args.api_url
    clips = {s: write_demo_inputs(work / f"in{s}", seconds=s) for s in (5, 10, 30)}  # ~1 s

    def run(seconds: int, store: str) -> tuple[float, float, int, dict]:
        audio, image = clips[seconds]
        report = work / f"r{seconds}-{store}.json"
        argv = ["--store", str(work / store), "run", "--audio", str(audio), "--image", str(image)]
        argv += ["--out", str(work / "o.mp4"), "--report", str(report)]
        first_line, wall, rss = music2dance(argv, env, clone)
        return first_line, wall, rss, json.loads(report.read_text())

    setup = setup_seconds(env, clone)
    figures = {}
    for name, store in (("fresh clone", "fresh"), ("warm", "warm")):
        first_line, wall, _, report = run(10, store)
        cached_first, cached, _, again = run(10, store)
        assert all(s["cached"] for s in again["stages"])
        figures[name] = (first_line, wall, cached, report)

    server = None if args.api_url else temporary_server_seconds(work / "prefect-probe")
    out = sys.stdout.write
    out(f"prefect: {'flows on ' + args.api_url if args.api_url else 'no server (local run)'}\n")
    if server is not None:
        out(f"a temporary Prefect server would add: {server:.1f} s to start (not waited for)\n")
    out(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n")
    out(f"make setup's precompile (fresh clone, once): {setup:.1f} s\n")
    out(f"{'10 s clip, 512 px':<34}{'fresh clone':>12}{'warm':>8}\n")
    rows = (("seconds to the first line", 0, ""), ("first run, wall", 1, "  (goal <= 20 s)"))
    for label, i, goal in (*rows, ("fully cached re-run, wall", 2, "  (goal <= 3 s)")):
        fresh, warm = figures["fresh clone"][i], figures["warm"][i]
        out(f"{label:<34}{fresh:>12.1f}{warm:>8.1f}{goal}\n")
    stages = zip(figures["fresh clone"][3]["stages"], figures["warm"][3]["stages"], strict=True)
    for fresh, warm in stages:
        out(f"    {fresh['name']:<30}{fresh['seconds']:>12.2f}{warm['seconds']:>8.2f}\n")
    if not args.rss:
        return

    _, _, rss5, _ = run(5, "s5")
    _, _, rss30, _ = run(30, "s30")
    from artifacts.remote import open_store
    from tasks.body.beats import beat_alignment_score

    store = open_store(work / "warm")
    keys = {s["name"]: s["key"] for s in figures["warm"][3]["stages"]}
    joints = store.open("motion", keys["motion"])["joints"][:]
    audio = store.open("audio", keys["audio"])
    bas = beat_alignment_score(joints, audio["beats"][:] * audio.attrs["fps"], audio.attrs["fps"])
    out(f"peak RSS 5 s clip:  {rss5:5d} MiB\npeak RSS 30 s clip: {rss30:5d} MiB\n")
    out(f"RSS ratio 30 s / 5 s: {rss30 / rss5:.2f}  (goal <= 1.3)\n")
    out(f"choreographer beat alignment score (10 s clip): {bas:.3f}  (EDGE ~0.23-0.26)\n")


if __name__ == "__main__":
    main()
