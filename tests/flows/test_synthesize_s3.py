"""The batch flow against an S3 store (moto on 127.0.0.1): stage tasks read and write the bucket,
the index points into it, videos are downloaded into out/videos, and a rerun is all cached."""

import json
from pathlib import Path

import pandas as pd
import pytest

from artifacts.remote import RemoteStore
from flows.runners import local_server
from music2dance_cli import main as cli
from tests.flows.test_synthesize import BATCH_SET, write_manifest
from tests.moto_s3 import moto_s3

BUCKET = "m2d-synth"


@pytest.fixture(scope="module")
def s3():
    with moto_s3(BUCKET) as options:
        yield options


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with local_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


def synth(store: str, manifest: Path, out: Path) -> tuple[int, dict]:
    argv = ["--store", store, "synth", "--manifest", str(manifest), "--out", str(out)]
    code = cli.main(argv + [a for s in BATCH_SET for a in ("--set", s)])
    return code, json.loads((out / "summary.json").read_text())


def test_s3_store_batch_good_and_bad_rows_then_all_cached(s3, server, inputs, tmp_path):
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
