"""The README's deployment walkthrough, line by line, in a fresh clone: the demo inputs, a
self-hosted server, the work pool, `prefect deploy --all`, a worker, then the shipped `nightly`,
`batch` and `clip` deployments, each watched to Completed. Only what a shared test machine needs
differs: a free port for 4200, a private PREFECT_HOME, a 3 s song of 2 rows and 128 px frames (the
clone's params/defaults.yaml). The server and the worker are stopped by their PIDs."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.prefect_env import prefect_env
from flows.runners import free_port, stop
from tests.flows.fresh_clone import ROOT, fresh_clone

BIN = Path(sys.executable).parent


def walkthrough() -> list[str]:
    """The lines of the README's `sh` block after "Scheduled and remote runs"."""
    text = (ROOT / "README.md").read_text().split("Scheduled and remote runs:", 1)[1]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def clone(tmp_path) -> Path:
    clone = fresh_clone(tmp_path / "clone")
    params = yaml.safe_load((clone / "params/defaults.yaml").read_text())
    params["render"]["resolution"] = params["align"]["resolution"] = 128
    (clone / "params/defaults.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return clone


def run_line(line: str, env: dict, cwd: Path, log: Path) -> subprocess.Popen | None:
    """One README line: `export` sets `env`, `... &` starts a process, anything else must exit 0."""
    command = line.split(" # ")[0].strip()
    if command.startswith("export "):
        key, _, value = command.removeprefix("export ").partition("=")
        env[key] = value
        return None
    if command.endswith("&"):
        with open(log, "ab") as out:
            return subprocess.Popen(
                ["bash", "-c", command[:-1]],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    done = subprocess.run(
        ["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return None


def test_readme_walkthrough_runs_nightly_batch_and_clip(clone, tmp_path):
    lines = walkthrough()
    assert any("'synthesize/nightly'" in line for line in lines)
    port = str(free_port())
    env = prefect_env(tmp_path / "home") | {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "PYTHONPATH": str(clone),  # the clone's code and params, in the worker's flow runs too
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    started = []
    try:
        for line in lines:
            line = line.replace("4200", port)
            line = line.replace("demo-inputs data ", "demo-inputs data --seconds 3 --rows 2 ")
            if proc := run_line(line, env, clone, tmp_path / "background.log"):
                started.append(proc)
    finally:
        for proc in started:
            stop(proc)
    nightly = pd.read_parquet(clone / "data/dataset/index.parquet")
    assert list(nightly["status"]) == ["done", "done"]
    assert all((clone / path).stat().st_size > 1000 for path in nightly["output"])  # out: relative
    batch = pd.read_parquet(clone / "data/batch/index.parquet")
    assert list(batch["status"]) == ["done", "done"]
    assert list(batch["computed"]) == ["", ""]  # the nightly run left every artifact in the store
    assert (clone / "out/clip.mp4").stat().st_size > 1000  # the clip deployment's `out`
