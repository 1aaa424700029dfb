"""What a batch tells the Prefect server it runs on, from `music2dance synth` in a fresh process:
a bad row makes the flow run end Failed with the row count in its message and its error in the
flow run's logs; a table artifact sums the batch up and a link artifact points at the index; task
runs are named by manifest row and input file."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from flows.prefect_env import prefect_env
from flows.runners import local_server

BIN = Path(sys.executable).parent
SMALL = ["render.resolution=128", "align.resolution=128", "animate.model=preview"]


@pytest.fixture(scope="module")
def batch(inputs, tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("batch")
    manifest = tmp / "manifest.csv"
    audio, image = inputs["audio"], inputs["image"]
    manifest.write_text(f"audio,image\n{audio},{image}\n{audio},{tmp / 'missing.png'}\n")
    argv = [BIN / "music2dance", "--store", tmp / "store", "synth", "--manifest", manifest]
    argv += ["--out", tmp / "out", *(a for s in SMALL for a in ("--set", s))]
    with local_server(tmp / "home") as url:
        done = subprocess.run(
            [str(a) for a in argv],
            env=prefect_env(tmp / "home", url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        with get_client(sync_client=True) as client:
            (run,) = client.read_flow_runs()
            by_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            return SimpleNamespace(
                done=done,
                run=run,
                logs=[log.message for log in client.read_logs(by_run)],
                artifacts={a.key: a for a in client.read_artifacts()},
                task_runs=client.read_task_runs(),
            )


def test_a_bad_row_fails_the_flow_run_and_its_error_is_in_the_logs(batch):
    assert batch.done.returncode == 1, batch.done.stderr[-2000:]
    assert batch.run.state.is_failed()
    assert batch.run.state.message.startswith("1 of 2 rows failed (row 1: image file not found")
    errors = [line for line in batch.logs if line.startswith("row 1 failed")]
    assert len(errors) == 1 and "missing.png" in errors[0], batch.logs


def test_the_tools_own_lines_reach_the_flow_runs_logs(batch):
    assert "2 rows: 1 done, 1 failed" in batch.logs
    assert any(line.startswith("animate    done") for line in batch.logs), batch.logs


def test_table_and_link_artifacts(batch):
    table = {
        row["what"]: row["value"] for row in json.loads(batch.artifacts["synthesize-batch"].data)
    }
    assert (table["rows"], table["rows done"], table["rows failed"]) == (2, 1, 1)
    assert table["seconds animate"] > 0
    assert table["row 1 failed"].startswith("image file not found")
    assert batch.artifacts["synthesize-index"].data.endswith("out/index.parquet)")


def test_task_runs_are_named_by_row_and_input(batch, inputs):
    names = sorted(run.name for run in batch.task_runs)
    audio, image = inputs["audio"].name, inputs["image"].name
    assert f"animate row 0: {audio} + {image}" in names
    assert f"align row 0: {image}" in names and f"audio row 0: {audio}" in names
