"""prefect.yaml end to end: a self-hosted server with its own home (SQLite), a process work pool,
`prefect deploy --all`, a worker, `prefect deployment run` with params, Completed, the outputs.
Every process started here is stopped by its PID."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pandas as pd
import pytest
from prefect import get_client

from flows.prefect_env import prefect_env
from flows.runners import local_server, stop, wait_until

ROOT = Path(__file__).resolve().parents[2]
POOL = "music2dance"  # the work pool prefect.yaml names
SMALL = ["render.resolution=64", "align.resolution=64", "animate.model=preview"]


def prefect(env: dict, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def deployed(tmp_path):
    """Server + pool + deployments + a worker polling every second; yields the child env."""
    home = tmp_path / "home"
    with local_server(home) as url:
        env = prefect_env(home, url) | {
            "MUSIC2DANCE_ROOT": str(ROOT),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        prefect(env, "work-pool", "create", POOL, "--type", "process")
        prefect(env, "--no-prompt", "deploy", "--all")
        with open(tmp_path / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield env
        finally:
            stop(worker)


def test_batch_deployment_runs_on_a_worker(deployed, inputs, tmp_path):
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("synthesize/nightly")
        assert client.read_deployment_by_name("dance-video/clip").work_pool_name == POOL
    assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
    assert not nightly.schedules[0].active  # the example never fires on its own

    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"audio,image,seed\n{inputs['audio']},{inputs['image']},3\n")
    params = {
        "manifest": str(manifest),
        "out": str(tmp_path / "dataset"),
        "store": str(tmp_path / "store"),
        "overrides": SMALL,
        "retries": 0,
    }
    out = prefect(deployed, "deployment", "run", "synthesize/batch", "--params", json.dumps(params))
    run_id = UUID(re.search(r"UUID:\s*([0-9a-f-]{36})", out).group(1))

    with get_client(sync_client=True) as client:
        state = wait_until(
            lambda: (s := client.read_flow_run(run_id).state) and s.is_final() and s,
            timeout=300,
            what="the deployment's flow run to finish",
            interval=0.5,
        )
    assert state.is_completed(), (tmp_path / "worker.log").read_text()[-3000:]
    index = pd.read_parquet(tmp_path / "dataset" / "index.parquet")
    assert list(index["status"]) == ["done"] and index["seed"][0] == 3
    assert Path(index["output"][0]).stat().st_size > 1000
    assert os.path.isdir(tmp_path / "store" / "artifacts" / "animate")
