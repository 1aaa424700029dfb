"""`dvc repro` in a temporary git repo: every stage runs once, then a param change reruns only
that stage and what follows it; `dvc exp run -S` works the same way."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COPY = ["dvc.yaml", ".dvcignore", "params", "tasks", "artifacts", ".dvc/config"]


def sh(repo: Path, *argv: str) -> str:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", MUSIC2DANCE_STORE=str(repo / "st"))
    done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    return done.stdout


def ran(output: str) -> list[str]:
    return re.findall(r"Running stage '([a-z_]+)'", output)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    if not (BIN / "dvc").exists():
        pytest.skip("dvc is not installed (the dev extra installs it)")
    repo = tmp_path_factory.mktemp("dvcrepo")
    for name in COPY:
        src, dst = ROOT / name, repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dst)
    params = yaml.safe_load((repo / "params/defaults.yaml").read_text())
    params["render"]["resolution"] = params["align"]["resolution"] = 128
    (repo / "params/defaults.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc_yaml = (repo / "dvc.yaml").read_text().replace("--seconds 10", "--seconds 3")
    (repo / "dvc.yaml").write_text(dvc_yaml)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return repo


def test_repro_runs_each_stage_once_then_nothing(repo):
    first = ran(sh(repo, "dvc", "repro"))
    assert first == ["demo_inputs", "audio", "motion", "render", "densepose", "align", "animate"]
    assert (repo / "out/dance.mp4").stat().st_size > 0
    assert ran(sh(repo, "dvc", "repro")) == []


def test_param_change_reruns_only_that_stage_and_downstream(repo):
    sh(repo, "dvc", "repro")
    params = yaml.safe_load((repo / "params/defaults.yaml").read_text())
    params["align"]["head_to_face"] = 1.8
    (repo / "params/defaults.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(sh(repo, "dvc", "repro")) == ["align", "animate"]


def test_exp_run_with_set_param(repo):
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lock")
    out = sh(repo, "dvc", "exp", "run", "-S", "params/defaults.yaml:animate.crf=30")
    assert ran(out) == ["animate"]
