"""The whole flow on the embedded defaults: output, caching, plan, faults. One Prefect server per
test process is shared by every in-process run."""

import json
from pathlib import Path

import numpy as np
import pytest

from artifacts.store import Store
from music2dance_cli.main import main
from tasks.animate.video import probe_video
from tests.conftest import FAST

STAGES = ["audio", "motion", "render", "densepose", "align", "animate"]


def run(inputs, store: Path, out: Path, *extra: str, image: str = "image") -> dict:
    report = out.with_suffix(".json")
    argv = ["--store", str(store), "run", "--audio", str(inputs["audio"])]
    argv += ["--image", str(inputs[image]), "--out", str(out), "--report", str(report)]
    assert main(argv + FAST + list(extra)) == 0
    return json.loads(report.read_text())


def ran(report: dict) -> list[str]:
    return [s["name"] for s in report["stages"] if not s["cached"]]


def plan_lines(inputs, store: Path, capsys, *extra: str, image: str = "image") -> list[str]:
    capsys.readouterr()
    argv = ["--store", str(store), "plan", "--audio", str(inputs["audio"])]
    assert main(argv + ["--image", str(inputs[image])] + FAST + list(extra)) == 0
    return [line.split()[0] for line in capsys.readouterr().out.splitlines() if " run " in line]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def first(inputs, store, tmp_path_factory) -> dict:
    return run(inputs, store, tmp_path_factory.mktemp("out") / "first.mp4")


def test_first_run_writes_mp4_with_music_and_motion(first, inputs, store):
    assert ran(first) == STAGES
    info = probe_video(first["output"])
    assert info["video_streams"] == 1 and info["audio_streams"] == 1
    assert abs(info["duration"] - 3.0) <= 1 / 30 + 1e-3
    frames = Store(store).open("animate", first["stages"][-1]["key"])["frames"]
    assert frames.shape[0] == 90
    assert np.abs(frames[0].astype(int) - frames[45].astype(int)).mean() > 1.0


def test_lineage_names_inputs_params_and_versions(first, store):
    s = Store(store)
    lineage = s.lineage("align", first["stages"][4]["key"])
    assert lineage["stage"] == "align" and set(lineage["inputs"]) == {"image"}
    assert lineage["upstream"].keys() == {"densepose", "render"}
    assert "numpy" in lineage["packages"] and lineage["seconds"] >= 0 and lineage["created"]


def test_second_run_is_fully_cached(first, inputs, store, tmp_path):
    again = run(inputs, store, tmp_path / "again.mp4")
    assert ran(again) == []
    assert [s["key"] for s in again["stages"]] == [s["key"] for s in first["stages"]]


@pytest.mark.parametrize(
    ("extra", "image", "expected"),
    [
        (["--set", "animate.crf=30"], "image", ["animate"]),
        ([], "image2", ["align", "animate"]),
        (["--set", "motion.seed=5"], "image", STAGES[1:]),
    ],
    ids=["animate-param", "image", "motion-param"],
)
def test_only_changed_stages_rerun_and_plan_agrees(
    first, inputs, store, tmp_path, capsys, extra, image, expected
):
    assert plan_lines(inputs, store, capsys, *extra, image=image) == expected
    assert ran(run(inputs, store, tmp_path / "x.mp4", *extra, image=image)) == expected


def test_plan_explains_a_param_change(first, inputs, store, capsys):
    capsys.readouterr()
    argv = ["--store", str(store), "plan", "--audio", str(inputs["audio"]), "--image"]
    assert main(argv + [str(inputs["image"])] + FAST + ["--set", "animate.crf=11"]) == 0
    out = capsys.readouterr().out
    assert "param animate.crf 20 -> 11" in out or "param animate.crf 30 -> 11" in out


def test_corrupt_chunk_is_flagged_and_recomputed(first, inputs, store, tmp_path, capsys):
    s = Store(store)
    key = first["stages"][2]["key"]  # render
    chunks = s.path("render", key).rglob("*")
    chunk = next(p for p in chunks if "/parts/c/" in str(p) and p.is_file())
    chunk.write_bytes(chunk.read_bytes()[:-7])
    capsys.readouterr()
    assert main(["--store", str(store), "cache", "verify"]) == 1
    out = capsys.readouterr().out
    assert "truncated" in out and f"upstream render {key[:12]} is damaged" in out
    assert not s.has("render", key)  # nor what was built from it:
    report = run(inputs, store, tmp_path / "y.mp4")
    assert ran(report) == ["render", "densepose", "align", "animate"]
    assert main(["--store", str(store), "cache", "verify"]) == 0


def test_plan_names_the_param_that_changed_while_its_upstream_is_cached(
    first, inputs, store, tmp_path, capsys
):
    """A portrait render exists, built on another motion: as close by count of differences as
    the square one built on this motion, and newer. The reason given is what the user changed
    (render.aspect), not 'upstream motion changed' while motion is cached."""
    portrait = ["--set", "render.aspect=portrait"]
    run(inputs, store, tmp_path / "p.mp4", "--set", "motion.seed=5", *portrait)
    capsys.readouterr()
    argv = ["--store", str(store), "plan", "--audio", str(inputs["audio"]), "--image"]
    assert main(argv + [str(inputs["image"]), *FAST, *portrait]) == 0
    lines = capsys.readouterr().out.splitlines()
    render = next(line for line in lines if line.startswith("render"))
    assert "param render.aspect 'square' -> 'portrait'" in render and "upstream" not in render


@pytest.mark.parametrize("stage", ["render", "densepose"])
def test_export_writes_a_stages_driving_video_with_the_music(first, inputs, store, tmp_path, stage):
    out = tmp_path / f"{stage}.mp4"
    argv = ["export", "--stage", stage, "--format", "mp4", "--out", str(out), "--audio"]
    argv += [str(inputs["audio"]), "--image", str(inputs["image"]), *FAST, "--store", str(store)]
    assert main(argv) == 0  # --store after the command, as before it
    info = probe_video(out)
    assert info["video_streams"] == 1 and info["audio_streams"] == 1
    assert abs(info["duration"] - 3.0) <= 1 / 30 + 1e-3
