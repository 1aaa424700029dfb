"""`run`, `plan`, `cache ls|verify|gc` and `export` against an S3 store (moto on 127.0.0.1), end
to end through the CLI: every command opens the store with `open_store`."""

import json

import pytest

from artifacts.remote import RemoteStore
from music2dance_cli.main import main
from tasks.animate.video import probe_video
from tests.conftest import FAST
from tests.moto_s3 import moto_s3

from .clirun import run_cli

BUCKET = "m2d-cli"
URL = f"s3://{BUCKET}/clips"


@pytest.fixture(scope="module")
def s3():
    with moto_s3(BUCKET) as options:
        yield options


def run_argv(inputs, out, *extra) -> list:
    argv = ["--store", URL, "run", "--audio", inputs["audio"], "--image", inputs["image"]]
    return argv + ["--out", out, "--report", out.with_suffix(".json"), *FAST, *extra]


@pytest.fixture(scope="module")
def first(s3, inputs, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("s3out") / "first.mp4"
    assert main([str(a) for a in run_argv(inputs, out)]) == 0
    return json.loads(out.with_suffix(".json").read_text()) | {"video": out}


def test_run_computes_in_the_bucket_and_downloads_the_video(first, s3):
    assert probe_video(first["video"])["video_streams"] == 1
    assert first["store"] == URL
    store = RemoteStore(URL, **s3)
    assert all(store.has(s["name"], s["key"]) for s in first["stages"])


def test_a_fully_cached_run_reads_the_bucket_without_prefect(first, inputs, tmp_path, capfd):
    # An unreachable server: any Prefect call would fail the run.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
        code, _, err = run_cli(capfd, run_argv(inputs, tmp_path / "again.mp4"))
    assert code == 0, err
    again = json.loads((tmp_path / "again.json").read_text())
    assert all(s["cached"] for s in again["stages"])
    assert (tmp_path / "again.mp4").read_bytes() == first["video"].read_bytes()


def test_plan_reads_the_bucket_and_names_the_changed_param(first, inputs, capfd):
    argv = ["plan", "--audio", inputs["audio"], "--image", inputs["image"], *FAST]
    code, out, _ = run_cli(capfd, [*argv, "--store", URL])
    assert code == 0 and out.count(" cached ") == 6, out
    code, out, _ = run_cli(capfd, [*argv, "--set", "animate.crf=31", "--store", URL])
    animate = next(line for line in out.splitlines() if line.startswith("animate"))
    assert code == 0 and "param animate.crf" in animate and "-> 31" in animate, out


def test_export_driving_video_from_the_bucket(first, inputs, tmp_path, capfd):
    argv = ["export", "--stage", "densepose", "--format", "mp4", "--out", tmp_path / "d.mp4"]
    argv += ["--audio", inputs["audio"], "--image", inputs["image"], *FAST, "--store", URL]
    code, _, err = run_cli(capfd, argv)
    info = probe_video(tmp_path / "d.mp4")
    assert code == 0 and info["video_streams"] == 1 and info["audio_streams"] == 1, err


def test_cache_ls_verify_gc_on_the_bucket(first, s3, capfd):
    code, out, _ = run_cli(capfd, ["--store", URL, "cache", "ls"])
    assert code == 0 and len(out.splitlines()) == 6
    assert {line.split()[0] for line in out.splitlines()} == {s["name"] for s in first["stages"]}
    code, out, _ = run_cli(capfd, ["cache", "verify", "--no-evict", "--store", URL])
    assert code == 0 and "0 damaged" in out
    store = RemoteStore(URL, **s3)
    render = next(s["key"] for s in first["stages"] if s["name"] == "render")
    version = store.version_path("render", render)
    orphan = version.rsplit("/", 1)[0] + "/v-orphan"
    store.fs.pipe_file(f"{orphan}/zarr.json", b"{}")  # a lost upload race
    code, out, _ = run_cli(capfd, ["--store", URL, "cache", "gc"])
    assert code == 0 and "removed 1 item(s)" in out and not store.fs.exists(orphan)
    chunk = next(p for p in store.fs.find(version) if "/parts/" in p)
    store.fs.pipe_file(chunk, b"garbage")
    code, out, _ = run_cli(capfd, ["--store", URL, "cache", "verify"])
    assert code == 1 and f"render     {render[:12]}" in out and "(evicted)" in out
    assert not store.has("render", render)
