"""The batch flow over a manifest: shared artifacts computed once, bad rows recorded, a per-stage
concurrency limit, retries of transient IO only, the Parquet index, Dask == threads, and an S3
store (moto on 127.0.0.1). One real Prefect server serves the whole module (Dask workers are
separate processes, and Prefect's client services keep the first server's address)."""

import errno
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, TaskRunFilter, TaskRunFilterTags

import flows.dance_video
from artifacts.materialize import materialize
from artifacts.remote import RemoteStore
from artifacts.store import Store
from flows.dag import STAGE_ORDER
from flows.runners import local_server, make_task_runner
from flows.synthesize import (
    TAG_PREFIX,
    ManifestRow,
    is_transient,
    missing_artifacts,
    plan_manifest,
    read_manifest,
    synthesize,
)
from music2dance_cli import main as cli
from tasks.base import InputError
from tests.moto_s3 import moto_s3

# Small frames and the weight-free preview animator keep a row under a second once warm.
BATCH_SET = ["render.resolution=128", "align.resolution=128", "animate.model=preview"]
BUCKET = "m2d-synth"
GOOD = [("image", 0, ""), ("image2", 0, ""), ("image", 1, "animate.crf=30"), ("image2", 1, "")]


def synth(store: Path | str, manifest: Path, out: Path, *extra: str) -> tuple[int, dict]:
    """`music2dance synth` in-process; the summary is read back from out/summary.json."""
    if "synth" not in cli.COMMAND_MODULES:  # until the lead registers the command
        cli.COMMAND_MODULES = (*cli.COMMAND_MODULES, "synth")
    argv = ["--store", str(store), "synth", "--manifest", str(manifest), "--out", str(out)]
    code = cli.main(argv + [a for s in BATCH_SET for a in ("--set", s)] + list(extra))
    return code, json.loads((out / "summary.json").read_text())


def write_manifest(path: Path, rows: list[tuple]) -> Path:
    pd.DataFrame(rows, columns=["audio", "image", "seed", "set"]).to_csv(path, index=False)
    return path


def flow_run_count() -> int:
    with get_client(sync_client=True) as client:
        return client.count_flow_runs(flow_run_filter=FlowRunFilter())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with local_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


@pytest.fixture(scope="module")
def manifests(inputs, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("manifests")
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(root / "noface.png")
    good = [(str(inputs["audio"]), str(inputs[img]), seed, s) for img, seed, s in GOOD]
    bad = [
        (str(root / "missing.wav"), str(inputs["image"]), 0, ""),
        (str(inputs["audio"]), "noface.png", 0, ""),  # relative to the manifest
    ]
    return {
        "good": write_manifest(root / "good.csv", good),
        "mixed": write_manifest(root / "mixed.csv", good + bad),
    }


@pytest.fixture(scope="module")
def mixed(server, manifests, tmp_path_factory) -> dict:
    """The 6-row manifest (4 good, 2 bad) through the CLI with the thread runner."""
    root = tmp_path_factory.mktemp("mixed")
    store, out = root / "store", root / "out"
    code, summary = synth(store, manifests["mixed"], out)
    index = pd.read_parquet(out / "index.parquet")
    return {"code": code, "summary": summary, "store": store, "out": out, "index": index}


# -- units ---------------------------------------------------------------------------------------
def test_manifest_columns_seed_set_and_relative_paths(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(
        "Audio,image,seed,set\n"
        "a.wav,/abs/i.png,3,animate.crf=30; motion.energy=0.5\n"
        "b.wav,i.png,,\n"
        "c.wav,i.png,x,\n"
    )
    rows = read_manifest(csv)
    assert rows[0] == ManifestRow(
        0, str(tmp_path / "a.wav"), "/abs/i.png", 3, ("animate.crf=30", "motion.energy=0.5")
    )
    expected = ["x.y=1", "motion.seed=3", "animate.crf=30", "motion.energy=0.5"]
    assert rows[0].params_overrides(["x.y=1"]) == expected
    assert rows[1].seed is None and rows[1].params_overrides() == []
    assert rows[2].params_overrides() == ["motion.seed=x"]  # fails later as that row's bad param
    pq = tmp_path / "m.parquet"
    pd.read_csv(csv, dtype=str, keep_default_na=False).to_parquet(pq)
    assert read_manifest(pq) == rows


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.EIO, "io"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (OSError(errno.ENOSPC, "full"), False),
        (FileNotFoundError(errno.ENOENT, "gone"), False),
        (ValueError("bad"), False),
        (RuntimeError("bug"), False),
    ],
)
def test_only_transient_io_is_retried(exc, transient):
    assert is_transient(exc) is transient


def test_missing_runner_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "prefect_ray", None)  # import fails as if not installed
    with pytest.raises(InputError, match=re.escape("music2dance[ray]")):
        make_task_runner("ray")
    with pytest.raises(InputError, match="unknown runner"):
        make_task_runner("gpu")


def test_rows_sharing_audio_and_seed_share_upstream_artifacts(manifests, tmp_path):
    plans = plan_manifest(read_manifest(manifests["good"]), tmp_path / "store", BATCH_SET)
    keys = [{s.name: s.key for s in p.stages} for p in plans]
    assert len({k["audio"] for k in keys}) == 1
    for stage in ("motion", "render", "densepose"):
        assert keys[0][stage] == keys[1][stage] != keys[2][stage] == keys[3][stage]
    assert len({k["align"] for k in keys}) == 4 and len({k["animate"] for k in keys}) == 4
    missing = missing_artifacts(plans)
    assert len(missing) == len({(s.name, s.key) for p in plans for s in p.stages}) == 15
    # row by row, so rows finish one after another; a row lists only what earlier rows did not
    new = [STAGE_ORDER, STAGE_ORDER[4:], STAGE_ORDER[1:], STAGE_ORDER[4:]]
    assert [(s.name, s.key) for s in missing] == [
        (name, keys[row][name]) for row, names in enumerate(new) for name in names
    ]


# -- the flow ------------------------------------------------------------------------------------
def test_bad_rows_fail_with_their_errors_and_the_rest_are_done(mixed):
    index, summary = mixed["index"], mixed["summary"]
    assert mixed["code"] == 1  # some rows failed
    assert list(index["status"]) == ["done"] * 4 + ["failed"] * 2
    assert "audio file not found" in index["error"][4] and "missing.wav" in index["error"][4]
    assert "no face" in index["error"][5]
    assert index["error"][:4].isna().all()
    assert summary["rows"] == 6 and summary["done"] == 4 and summary["failed"] == 2
    for rec in index[:4].itertuples():
        assert Path(rec.output).stat().st_size > 1000 and Path(rec.video).is_file()
        assert Path(rec.output).read_bytes() == Path(rec.video).read_bytes()


def test_each_shared_artifact_is_computed_once(mixed):
    index = mixed["index"][:4]
    unique = {(s, k) for s in STAGE_ORDER for k in index[f"key_{s}"]}
    assert mixed["summary"]["computed"] == len(unique) == 15
    stored = {(p.parent.name, p.name) for p in (mixed["store"] / "artifacts").glob("*/*")}
    assert stored == unique  # the failed rows left nothing behind
    assert index["key_motion"][0] == index["key_motion"][1] != index["key_motion"][2]


def test_animate_runs_one_at_a_time(mixed):
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(f"tag:{TAG_PREFIX}animate")
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=[TAG_PREFIX + "animate"]))
        )
    assert limit.limit == 1
    spans = sorted((r.start_time, r.end_time) for r in runs if r.state.is_completed())
    assert len(spans) >= 4
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))


def test_rerun_is_planned_as_cached_and_starts_no_flow(mixed, manifests, tmp_path):
    before = flow_run_count()
    code, summary = synth(mixed["store"], manifests["mixed"], tmp_path / "again")
    again = pd.read_parquet(tmp_path / "again" / "index.parquet")
    assert code == 1 and summary["computed"] == 0 and flow_run_count() == before
    keys = [f"key_{s}" for s in STAGE_ORDER]
    assert again[keys].equals(mixed["index"][keys]) and list(again["status"]) == list(
        mixed["index"]["status"]
    )


def test_transient_io_is_retried_and_other_errors_fail_the_row_once(
    server, manifests, tmp_path, monkeypatch
):
    plans = plan_manifest(read_manifest(manifests["good"]), tmp_path / "store", BATCH_SET)
    flaky = plans[0].stages[1]  # motion of rows 0 and 1: one EIO, then fine
    broken = plans[2].stages[2]  # render of rows 2 and 3: a bug, every time
    calls = {flaky.key: 0, broken.key: 0}

    def failing(spec, planned, store_root):
        if planned.key in calls:
            calls[planned.key] += 1
            if planned.key == broken.key:
                raise RuntimeError("render bug")
            if calls[planned.key] == 1:
                raise OSError(errno.EIO, "flaky disk")
        return materialize(spec, planned, store_root)

    monkeypatch.setattr(flows.dance_video, "materialize", failing)
    state = synthesize(
        manifest=str(manifests["good"]),
        out=str(tmp_path / "out"),
        store=str(tmp_path / "store"),
        overrides=BATCH_SET,
        retries=2,
        retry_delay_seconds=0,
        return_state=True,
    )
    index = pd.read_parquet(tmp_path / "out" / "index.parquet")
    assert calls == {flaky.key: 2, broken.key: 1}
    assert list(index["status"]) == ["done", "done", "failed", "failed"]
    assert list(index["error"][2:]) == ["render: RuntimeError: render bug"] * 2
    assert state.is_failed() and state.message.startswith("2 of 4 rows failed (row 2: render")
    assert state.result(raise_on_failure=False)["done"] == 2  # the Failed state carries the summary


def test_dask_runner_gives_the_same_keys_and_videos_as_threads(mixed, manifests, tmp_path):
    # The shared audio artifact comes from the thread run: importing librosa compiles its numba
    # ufuncs (~25 s per fresh process); the 14 other artifacts are computed on the workers.
    (key,) = set(mixed["index"]["key_audio"][:4])
    audio = Path("artifacts", "audio", key)
    shutil.copytree(mixed["store"] / audio, tmp_path / "store" / audio)
    out = tmp_path / "out"
    code, summary = synth(
        tmp_path / "store", manifests["good"], out, "--runner", "dask", "--workers", "2"
    )
    index = pd.read_parquet(out / "index.parquet")
    assert code == 0 and summary["computed"] == 14
    keys = [f"key_{s}" for s in STAGE_ORDER]
    assert index[keys].equals(mixed["index"][keys][:4])
    # The decoded frames, not the mp4 bytes: the container records when it was written.
    for key in index["key_animate"]:
        mine = Store(tmp_path / "store").open("animate", key)["frames"][:]
        assert np.array_equal(mine, Store(mixed["store"]).open("animate", key)["frames"][:])


def test_gpu_stages_request_one_gpu_from_a_dask_cluster_only_when_asked():
    import dask
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    from flows.synthesize import gpu_placement

    @flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 1, "processes": False}))
    def annotations() -> list:
        seen = []
        for stage, gpus in [("animate", True), ("render", True), ("animate", False)]:
            with gpu_placement(stage, gpus):
                seen.append(dask.get_annotations().get("resources"))
        return seen

    assert annotations() == [{"GPU": 1}, None, None]


def test_evaluate_flags_rows_that_miss_a_gate_and_keeps_them(mixed, manifests, tmp_path):
    out = tmp_path / "measured"
    code, summary = synth(
        mixed["store"], manifests["mixed"], out, "--evaluate", "--set", "gates.bas_min=1.0"
    )
    index = pd.read_parquet(out / "index.parquet")
    done = index[index["status"] == "done"]
    assert code == 1 and summary["done"] == 4 and len(done) == 4  # the 2 bad rows still fail
    assert done["metric_bas"].between(0, 1).all() and (done["metric_bas"] < 1).any()
    for bas, flags, passed in done[["metric_bas", "gates_failed", "passed"]].itertuples(False):
        assert ("bas_min" in flags.split(";")) == (bas < 1.0) and passed == (flags == "")
    assert index[index["status"] == "failed"]["passed"].isna().all()
    missed = done["gates_failed"].str.split(";").explode()
    assert summary["gates_failed"] == missed[missed != ""].value_counts().to_dict()
    assert summary["passed"] == int(done["passed"].sum())


@pytest.fixture(scope="module")
def s3():
    with moto_s3(BUCKET) as options:
        yield options


def test_s3_store_batch_good_and_bad_rows_then_all_cached(s3, server, inputs, tmp_path):
    """Stage tasks read and write the bucket, the index points into it, videos are downloaded
    into out/videos, and a rerun is all cached."""
    url = f"s3://{BUCKET}/datasets/run1"
    manifest = write_manifest(
        tmp_path / "m.csv",
        [
            (str(inputs["audio"]), str(inputs["image"]), 0, ""),
            (str(tmp_path / "missing.wav"), str(inputs["image"]), 0, ""),
        ],
    )
    code, summary = synth(url, manifest, tmp_path / "out")
    assert code == 1 and (summary["done"], summary["failed"]) == (1, 1)
    assert "missing.wav" in summary["errors"]["1"]
    index = pd.read_parquet(tmp_path / "out" / "index.parquet").set_index("row")
    assert index.loc[0, "video"].startswith(f"s3://{BUCKET}/datasets/run1/artifacts/animate/")
    assert index.loc[0, "frames"].startswith("s3://")
    video = Path(index.loc[0, "output"])
    assert video.read_bytes()[4:8] == b"ftyp"  # an mp4, downloaded from the bucket

    store = RemoteStore(url, **s3)
    for stage in ("audio", "motion", "render", "densepose", "align", "animate"):
        key = index.loc[0, f"key_{stage}"]
        assert store.has(stage, key) and store.verify_one(stage, key) is None

    code, again = synth(url, manifest, tmp_path / "out2")
    assert again["computed"] == 0 and again["done"] == 1


def test_a_later_server_in_the_same_process_is_the_one_its_runs_reach(inputs, tmp_path):
    """Prefect's client services (concurrency slots, logs, events) are process-wide singletons
    keyed by what they serve, not by the server: once a temporary server has stopped, a later
    run in the same process (the web app, a notebook, a test session) must reach the new one."""
    row = [(str(inputs["audio"]), str(inputs["image"]), 0, "")]
    manifest = write_manifest(tmp_path / "one.csv", row)
    for attempt in range(2):
        with local_server(tmp_path / f"home{attempt}"):
            code, summary = synth(tmp_path / f"s{attempt}", manifest, tmp_path / f"out{attempt}")
        assert (code, summary["done"]) == (0, 1), summary
