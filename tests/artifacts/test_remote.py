"""The fsspec store against a moto S3 server on 127.0.0.1 and against file://: sharded arrays,
the marker written last, verify, eviction, gc of orphaned versions."""

import numpy as np
import pytest

from artifacts import remote
from artifacts.remote import RemoteStore, open_store, shard_shape
from artifacts.store import Store
from tests.moto_s3 import moto_s3

KEY = "ab" * 32
BUCKET = "m2d-test"


@pytest.fixture(scope="module")
def s3():
    with moto_s3(BUCKET) as options:
        yield options


@pytest.fixture(params=["s3", "file"])
def store(request, tmp_path) -> RemoteStore:
    if request.param == "s3":
        options = request.getfixturevalue("s3")
        return RemoteStore(f"s3://{BUCKET}/{tmp_path.name}", **options)
    return RemoteStore(f"file://{tmp_path}/remote")


def write_artifact(store: RemoteStore, frames: np.ndarray) -> None:
    with store.staging("render", KEY) as (workdir, group):
        parts = group.create_array("parts", shape=frames.shape, chunks=(8, 16, 16), dtype="uint8")
        for start in range(0, len(frames), 8):
            parts[start : start + 8] = frames[start : start + 8]
        group.create_array("scalar", shape=(), dtype="float32")[...] = 1.5
        group.attrs["fps"] = 30
        (workdir / "video.mp4").write_bytes(b"not really a video")
        assert store.publish(workdir, "render", KEY)


def test_open_store_picks_the_backend(tmp_path):
    assert isinstance(open_store(tmp_path), Store)
    assert isinstance(open_store(f"file://{tmp_path}"), RemoteStore)


def test_shards_hold_whole_chunks_and_cap_the_object_size(monkeypatch):
    assert shard_shape((40, 30, 30), (8, 16, 16), 1) == (40, 32, 32)
    monkeypatch.setattr(remote, "SHARD_BYTES", 8 * 32 * 32 * 2)
    assert shard_shape((40, 30, 30), (8, 16, 16), 1) == (16, 32, 32)


def test_roundtrip_is_a_few_objects(store, tmp_path):
    frames = np.random.default_rng(0).integers(0, 25, (40, 30, 30), dtype=np.uint8)
    assert not store.has("render", KEY)
    write_artifact(store, frames)
    assert store.has("render", KEY) and [k for _, k, _ in store.records()] == [KEY]
    group = store.open("render", KEY)
    assert np.array_equal(group["parts"][:], frames) and group["parts"].chunks == (8, 16, 16)
    assert float(group["scalar"][...]) == 1.5 and group.attrs["fps"] == 30
    files = store.manifest("render", KEY)["files"]
    # 5 x 2 x 2 = 20 chunks live in one shard object
    assert sorted(f for f in files if f.startswith("parts/c")) == ["parts/c/0/0/0"]
    assert len(files) <= 6 and "video.mp4" in files
    dst = store.fetch_file("render", KEY, "video.mp4", tmp_path / "video.mp4")
    assert dst.read_bytes() == b"not really a video"
    assert store.verify_one("render", KEY) is None


def test_no_marker_means_no_artifact(store, monkeypatch):
    def crash(*args, **kwargs):
        raise ConnectionError("upload interrupted before the marker")

    monkeypatch.setattr(store.fs, "pipe_file", crash)
    with pytest.raises(ConnectionError):
        write_artifact(store, np.zeros((16, 16, 16), np.uint8))
    monkeypatch.undo()
    assert not store.has("render", KEY) and list(store.records()) == []
    with pytest.raises(KeyError):
        store.open("render", KEY)
    assert store.fs.find(store.path("render", KEY))  # the orphaned upload is there ...
    write_artifact(store, np.ones((16, 16, 16), np.uint8))  # ... a retry publishes whole
    assert store.gc() and len(store.fs.ls(store.path("render", KEY))) == 2  # marker + 1 version
    assert store.open("render", KEY)["parts"][:].min() == 1


def test_verify_flags_and_evicts_a_damaged_object(store):
    write_artifact(store, np.full((16, 16, 16), 3, np.uint8))
    shard = f"{store.version_path('render', KEY)}/parts/c/0/0/0"
    store.fs.pipe_file(shard, store.fs.cat_file(shard)[:-5])
    problems = store.verify()
    assert [(p.stage, p.reason) for p in problems] == [("render", "truncated file parts/c/0/0/0")]
    assert not store.has("render", KEY) and not store.fs.exists(store.path("render", KEY))
