"""With PREFECT_API_URL set, a single run is the `dance-video-plan` flow on that server (its
stages are tasks there); without it, the same plan runs in the process (tests/flows/
test_dance_video.py). The run is a child process: Prefect's client services keep the first
server a process talks to, and tests/flows/test_synthesize.py has its own server."""

import json
import os
import subprocess
import sys
from pathlib import Path

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter

from flows.runners import local_server
from tests.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_with_a_server_is_tracked_there_as_one_flow_with_a_task_per_stage(inputs, tmp_path):
    argv = ["--store", tmp_path / "store", "run", "--audio", inputs["audio"], "--image"]
    argv += [inputs["image"], "--out", tmp_path / "o.mp4", "--report", tmp_path / "r.json"]
    with local_server(tmp_path / "prefect") as url:
        done = subprocess.run(
            [sys.executable, "-m", "music2dance_cli.main", *map(str, argv), *FAST],
            cwd=ROOT,
            env=os.environ | {"PREFECT_API_URL": url},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        with get_client(sync_client=True) as client:
            flows = client.read_flow_runs(flow_run_filter=FlowRunFilter())
            tasks = client.read_task_runs()
    report = json.loads((tmp_path / "r.json").read_text())
    assert not any(s["cached"] for s in report["stages"])
    assert len(flows) == 1 and flows[0].state.is_completed()
    stages = sorted(s["name"] for s in report["stages"])
    assert sorted(t.name.split("-")[0] for t in tasks) == stages
