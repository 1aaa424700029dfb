"""The web app's logic without a browser: upload checks, model choices, overrides, progress rows,
refusing bad input before anything runs, and the serve command's defaults."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from flows.dag import param_rules
from music2dance_cli import serve
from params import resolve_params
from tasks.base import InputError
from webapp import jobs


def test_check_upload_refuses_missing_empty_and_huge_files(tmp_path):
    with pytest.raises(InputError, match="no music uploaded"):
        jobs.check_upload(None, "music", 100)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        jobs.check_upload(empty, "music", 100)
    big = tmp_path / "big.png"
    big.write_bytes(b"x" * 3 * 2**20)
    with pytest.raises(InputError, match=r"big.png is 3.0 MiB, above the limit of 2 MiB"):
        jobs.check_upload(big, "photo", 2 * 2**20)
    assert jobs.check_upload(big, "photo", 4 * 2**20) == big


def test_models_needing_weights_are_offered_only_when_the_server_has_them(tmp_path):
    rules = param_rules()
    plain = resolve_params(rules, [])
    assert "edge" not in jobs.model_choices(rules, plain, "motion")
    assert "choreographer" in jobs.model_choices(rules, plain, "motion")
    assert "preview" in jobs.model_choices(rules, plain, "animate")
    with_edge = resolve_params(rules, [f"motion.checkpoint={tmp_path / 'edge.pt'}"])
    assert "edge" in jobs.model_choices(rules, with_edge, "motion")


def test_page_choices_become_valid_overrides_after_the_servers_own():
    overrides = jobs.run_overrides(["animate.crf=23"], "choreographer", "preview", 7, 128)
    assert overrides[0] == "animate.crf=23"
    params = resolve_params(param_rules(), overrides)
    assert params["motion"]["seed"] == 7 and params["animate"]["model"] == "preview"
    assert params["render"]["resolution"] == params["align"]["resolution"] == 128


def publish_fake(store: Path, stage: str, key: str) -> None:
    folder = store / "artifacts" / stage / key
    folder.mkdir(parents=True)
    (folder / "MANIFEST.json").write_text(json.dumps({"stage": stage, "key": key, "files": {}}))


def test_progress_marks_done_running_and_failed_from_the_store(tmp_path):
    keys = {
        name: digit * 64 for name, digit in zip(("audio", "motion", "render"), "abc", strict=True)
    }
    rows = [
        jobs.StageRow("audio", keys["audio"], "cached", 0.0),
        jobs.StageRow("motion", keys["motion"], "waiting", why="param motion.seed 0 -> 1"),
        jobs.StageRow("render", keys["render"], "waiting"),
    ]
    job = jobs.Job(rows=rows, store_root=str(tmp_path), started=time.monotonic() - 2.0)
    job.thread = type("Alive", (), {"is_alive": staticmethod(lambda: True)})()
    job.poll()
    assert [r.status for r in rows] == ["cached", "running", "waiting"]
    assert rows[1].seconds >= 2.0
    publish_fake(tmp_path, "motion", keys["motion"])
    job.poll()
    assert [r.status for r in rows] == ["cached", "done", "running"]
    job.error = "boom"
    job.poll()
    assert [r.status for r in rows] == ["cached", "done", "failed"]
    table = job.table()
    assert "| motion | done |" in table and "param motion.seed 0 -> 1" in table


@pytest.mark.parametrize(
    ("audio", "image", "needle"),
    [("notes", "image", "no audio stream"), ("audio", "noface", "no face")],
)
def test_bad_input_is_refused_before_running_and_frees_the_runner(
    inputs, tmp_path, audio, image, needle
):
    runner = jobs.Runner(tmp_path / "store")
    with pytest.raises(InputError, match=needle):
        runner.start(
            inputs[audio], inputs[image], jobs.run_overrides([], "choreographer", "preview", 0, 128)
        )
    assert not (tmp_path / "store" / "artifacts").exists()
    with pytest.raises(InputError, match=needle):  # not "another run is in progress"
        runner.start(inputs[audio], inputs[image], [])


def test_serve_binds_localhost_by_default():
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.set) == ("127.0.0.1", 7860, [])
    args = parser.parse_args(["serve", "--port", "8080", "--set", "motion.checkpoint=x.pt"])
    assert args.port == 8080 and args.set == ["motion.checkpoint=x.pt"]
