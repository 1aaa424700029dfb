"""Crash safety and concurrency with real processes: SIGKILL mid-run, two runs at once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from artifacts.store import Store
from music2dance_cli.main import main
from tests.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]


def cli(inputs, store: Path, out: Path, home: Path, *extra: str, **popen) -> subprocess.Popen:
    env = dict(os.environ, PREFECT_HOME=str(home), PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "music2dance_cli.main", "--store", str(store), "run"]
    argv += ["--audio", str(inputs["audio"]), "--image", str(inputs["image"]), "--out", str(out)]
    return subprocess.Popen(
        argv + list(extra), env=env, cwd=ROOT, text=True, start_new_session=True, **popen
    )


def test_sigkill_mid_stage_never_leaves_a_complete_looking_partial(inputs, tmp_path):
    store = tmp_path / "store"
    proc = cli(inputs, store, tmp_path / "o.mp4", tmp_path / "home", stderr=subprocess.PIPE)
    for line in proc.stderr:  # blocks on the child's log, no polling
        if "render" in line and "running" in line:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its Prefect server, as a crash would
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    s = Store(store)
    assert s.verify(evict=False) == []  # everything listed as complete is whole
    assert list((store / "staging").iterdir())  # the killed writer's leftovers ...
    assert (
        main(
            [
                "--store",
                str(store),
                "run",
                "--audio",
                str(inputs["audio"]),
                "--image",
                str(inputs["image"]),
                "--out",
                str(tmp_path / "o.mp4"),
            ]
        )
        == 0
    )
    assert len(s.gc()) >= 1  # ... are cleaned once their writer is known dead
    assert s.verify(evict=False) == [] and (tmp_path / "o.mp4").stat().st_size > 0


def test_two_identical_runs_at_once_both_succeed_with_one_artifact_per_key(inputs, tmp_path):
    store = tmp_path / "store"
    procs = [
        cli(
            inputs,
            store,
            tmp_path / f"o{i}.mp4",
            tmp_path / f"home{i}",
            *FAST,
            stderr=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    assert [p.wait() for p in procs] == [0, 0]
    records = list(Store(store).records())
    assert sorted(stage for stage, _, _ in records) == sorted(
        ["audio", "motion", "render", "densepose", "align", "animate"]
    )
    assert (tmp_path / "o0.mp4").read_bytes() == (tmp_path / "o1.mp4").read_bytes()
