"""`dvc repro` in a fresh clone: every stage runs once, then a param change reruns only that stage
and what follows it; the README's `dvc exp run -S` form reruns animate and what reads it (eval and
the dataset, whose rows recompute animate only); `dvc metrics show` lists the demo's BAS and PFC."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.prefect_env import prefect_env
from flows.runners import local_server
from tests.flows.fresh_clone import ROOT, fresh_clone

BIN = Path(sys.executable).parent
PIPELINE = ["demo_inputs", "audio", "motion", "render", "densepose", "align", "animate"]


def sh(repo: Path, *argv: str) -> str:
    env = prefect_env(repo.parent / "prefect", os.environ.get("PREFECT_API_URL")) | {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "PYTHONPATH": str(repo),  # the clone's code and params/defaults.yaml
        "MUSIC2DANCE_STORE": str(repo.parent / "store"),  # beside the repo: git never sees it
    }
    done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    return done.stdout


def ran(output: str) -> list[str]:
    return re.findall(r"Running stage '([a-z_]+)'", output)


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)


def readme_exp_run() -> str:
    """The `dvc exp run -S ...` example the README gives (dvc.yaml's comment must agree)."""
    forms = {
        name: re.findall(r"dvc exp run -S (\S+)", (ROOT / name).read_text())
        for name in ("README.md", "dvc.yaml")
    }
    assert forms["README.md"] and forms["README.md"] == forms["dvc.yaml"], forms
    return forms["README.md"][0]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Iterator[Path]:
    """The clone, committed; one Prefect server serves every `synth` the `dataset` stage runs."""
    if not (BIN / "dvc").exists():
        pytest.skip("dvc is not installed (the dev extra installs it)")
    repo = fresh_clone(tmp_path_factory.mktemp("dvc") / "repo")
    params = yaml.safe_load((repo / "params/defaults.yaml").read_text())
    params["render"]["resolution"] = params["align"]["resolution"] = 128
    (repo / "params/defaults.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc_yaml = (repo / "dvc.yaml").read_text()
    assert "--seconds 10 --rows 4" in dvc_yaml
    (repo / "dvc.yaml").write_text(
        dvc_yaml.replace("--seconds 10 --rows 4", "--seconds 3 --rows 2")
    )
    sh(repo, "git", "init", "-q")
    commit(repo, "init")
    with local_server(repo.parent / "server"):
        yield repo


def test_repro_runs_each_stage_once_then_nothing(repo):
    first = ran(sh(repo, "dvc", "repro"))
    assert sorted(first) == sorted([*PIPELINE, "eval", "dataset"])
    assert (repo / "out/dance.mp4").stat().st_size > 0
    index = pd.read_parquet(repo / "data/dataset/index.parquet")
    assert list(index["status"]) == ["done", "done"]
    assert ran(sh(repo, "dvc", "repro")) == []


def test_metrics_and_plots_of_the_demo(repo):
    header = sh(repo, "dvc", "metrics", "show").splitlines()[0].split()
    assert header[0] == "Path" and {"bas", "pfc"} <= set(header), header
    (workspace,) = json.loads(sh(repo, "dvc", "metrics", "show", "--json")).values()
    metrics = workspace["data"]["out/eval/metrics.json"]["data"]
    assert 0.0 <= metrics["bas"] <= 1.0 and metrics["pfc"] >= 0.0
    plots = json.loads(sh(repo, "dvc", "plots", "show", "--json"))["data"]
    assert set(plots) == {"out/eval/animate/beats.png", "out/eval/animate/contact_sheet.png"}


def test_param_change_reruns_only_that_stage_and_downstream(repo):
    params = yaml.safe_load((repo / "params/defaults.yaml").read_text())
    params["align"]["head_to_face"] = 1.8
    (repo / "params/defaults.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert sorted(ran(sh(repo, "dvc", "repro"))) == ["align", "animate", "dataset", "eval"]


def test_readme_exp_run_changes_only_animate(repo):
    commit(repo, "lock")
    out = sh(repo, "dvc", "exp", "run", "-S", readme_exp_run())
    assert sorted(ran(out)) == ["animate", "dataset", "eval"]
    changed = json.loads(sh(repo, "dvc", "params", "diff", "--json"))
    assert list(changed["params/defaults.yaml"]) == ["animate.crf"]
    index = pd.read_parquet(repo / "data/dataset/index.parquet")
    # row 0 is the demo clip: the animate stage may have made it already; row 1 needs its own
    assert set(index["computed"]) <= {"", "animate"} and index["computed"][1] == "animate"
