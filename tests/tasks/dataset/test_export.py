"""synth --export: WebDataset shards and the TikTok layout from 3 real clips (cutout animator,
128 px, 2.5 s), the streaming dataset over them, a kill during export, the split, S3, and
train-animator on the TikTok export."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from skimage import data

from artifacts.store import Store
from music2dance_cli import main as cli
from tasks.audio.synth import synth_music, write_wav
from tasks.base import InputError
from tasks.dataset import reader as reader_module
from tasks.dataset import task as task_module
from tasks.dataset.media import decode_npz, decode_video
from tasks.dataset.reader import ShardDataset
from tasks.dataset.shards import SHARD_LIST, iter_samples, read_shard_list
from tasks.dataset.split import split_of
from tasks.dataset.task import dataset_params, export_dataset
from tests.moto_s3 import moto_s3

ROOT = Path(__file__).resolve().parents[3]
SR = 22050
# the choreographer is the quickest motion model (the library's graph costs seconds per seed)
SETS = ["render.resolution=128", "align.resolution=128", "animate.model=cutout"]
SETS += ["motion.model=choreographer"]
TWO_PER_SHARD = ["dataset.shard_max_clips=2"]
ALL_TRAIN = ["dataset.train_ratio=1", "dataset.val_ratio=0", "dataset.test_ratio=0"]
MEMBERS = {"reference.png", "driving.mp4", "output.mp4", "parts.npz", "motion.npz"}
MEMBERS |= {"music.npz", "audio.wav", "json"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> dict[str, Path]:
    """3 clips (two photos, two seeds) through `music2dance synth --export ...`."""
    root = tmp_path_factory.mktemp("synth")
    write_wav(root / "clip.wav", synth_music(seconds=2.5, bpm=120, seed=0, sample_rate=SR), SR)
    Image.fromarray(data.astronaut()).save(root / "a.png")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:, ::-1])).save(root / "b.png")
    rows = [("clip.wav", "a.png", 0), ("clip.wav", "b.png", 0), ("clip.wav", "a.png", 1)]
    pd.DataFrame(rows, columns=["audio", "image", "seed"]).to_csv(root / "m.csv", index=False)
    sets = SETS + TWO_PER_SHARD + ALL_TRAIN
    argv = ["--store", root / "store", "synth", "--manifest", root / "m.csv", "--out", root / "out"]
    argv += [a for s in sets for a in ("--set", s)]
    argv += ["--export", "webdataset", root / "wds", "--export", "tiktok", root / "tiktok"]
    assert cli.main([str(a) for a in argv]) == 0
    return {
        "root": root,
        "store": root / "store",
        "index": root / "out" / "index.parquet",
        "wds": root / "wds",
        "tiktok": root / "tiktok",
    }


def listed_keys(root: Path | str, **options) -> list[str]:
    return [key for shard in read_shard_list(str(root), **options) for key in shard["keys"]]


def shard_keys(root: Path) -> list[str]:
    """Keys of the samples actually in the listed shards, read back from the tars."""
    keys = []
    for shard in read_shard_list(str(root)):
        with open(root / shard["url"], "rb") as f:
            keys += [key for key, _ in iter_samples(f)]
    return keys


def big_errors(frames: np.ndarray, truth: np.ndarray) -> float:
    """Share of pixels whose largest channel error exceeds 40: rare for H.264 at crf 18-20,
    common where a dancer moved between two frames."""
    return float((np.abs(frames.astype(int) - truth).max(axis=-1) > 40).mean())


def test_synth_writes_one_sample_per_clip_in_the_webdataset_convention(synth):
    summary = json.loads((synth["root"] / "out" / "summary.json").read_text())
    assert summary["export"]["webdataset"]["added"] == 3
    index = pd.read_parquet(synth["index"])
    clips = set(index["key_animate"])
    shards = read_shard_list(str(synth["wds"]))
    assert [s["url"] for s in shards] == ["train-000000.tar", "train-000001.tar"]
    assert sorted(shard_keys(synth["wds"])) == sorted(listed_keys(synth["wds"])) == sorted(clips)
    with tarfile.open(synth["wds"] / shards[0]["url"]) as tar:
        names = tar.getnames()
    stems = [n.split(".", 1)[0] for n in names]
    assert stems == sorted(stems, key=stems.index)  # each sample's members are consecutive
    assert {n.split(".", 1)[1] for n in names} == MEMBERS
    catalogue = pd.read_parquet(synth["wds"] / "index.parquet")
    assert set(catalogue["key"]) == clips
    assert all((synth["wds"] / loc).is_file() for loc in catalogue["location"])  # relative
    with open(synth["wds"] / shards[0]["url"], "rb") as f:
        meta = json.loads(next(iter_samples(f))[1]["json"])
    assert meta["params"]["animate"]["model"] == "cutout"
    assert meta["keys"]["animate"] == meta["key"] and set(meta["keys"]) >= {"motion", "align"}


def test_the_webdataset_library_reads_the_shards(synth):
    wds = pytest.importorskip("webdataset")
    urls = [str(synth["wds"] / s["url"]) for s in read_shard_list(str(synth["wds"]))]
    samples = list(wds.WebDataset(urls, shardshuffle=False))
    assert sorted(s["__key__"] for s in samples) == sorted(listed_keys(synth["wds"]))
    assert all(set(s) >= MEMBERS for s in samples)


def test_dataset_yields_documented_shapes_with_aligned_frames(synth):
    dataset = ShardDataset(str(synth["wds"]), "train", window=8, stride=2, windows_per_clip=2)
    items = list(dataset)
    assert len(items) == len(dataset) == 6
    store = Store(synth["store"])
    samples = {}
    for shard in read_shard_list(str(synth["wds"])):
        with open(synth["wds"] / shard["url"], "rb") as f:
            samples.update(iter_samples(f))
    index = pd.read_parquet(synth["index"]).set_index("key_animate")
    for item in items:
        h, w = item["reference"].shape[1:]
        expected = {
            "reference": ((3, h, w), torch.uint8),
            "driving": ((8, 3, h, w), torch.uint8),
            "frames": ((8, 3, h, w), torch.uint8),
            "parts": ((8, h, w), torch.uint8),
            "poses": ((8, 24, 3), torch.float32),
            "trans": ((8, 3), torch.float32),
            "joints": ((8, 24, 3), torch.float32),
            "joints2d": ((8, 24, 2), torch.float32),
            "music": ((8, 35), torch.float32),
        }
        for name, (shape, dtype) in expected.items():
            assert (tuple(item[name].shape), item[name].dtype) == (shape, dtype), name
        assert item["fps"] == 30.0
        # every field holds the store's frames at the same indices, not their neighbours
        picks = np.arange(item["start"], item["start"] + 15, 2)
        keys = index.loc[item["key"]]
        align = store.open("align", keys["key_align"])
        motion = store.open("motion", keys["key_motion"])
        # the video windows are exactly those frames of the whole decoded videos
        for name, member in (("frames", "output.mp4"), ("driving", "driving.mp4")):
            whole = decode_video(samples[item["key"]][member])
            assert np.array_equal(item[name].numpy(), whole[picks].transpose(0, 3, 1, 2))
        assert np.array_equal(item["parts"].numpy(), align["parts"][:][picks])
        assert np.array_equal(item["poses"].numpy(), motion["poses"][:][picks])
        assert index.loc[item["key"], "status"] == "done"


def test_every_per_frame_member_has_the_same_frames_and_fps(synth):
    with open(synth["wds"] / "train-000000.tar", "rb") as f:
        key, sample = next(iter_samples(f))
    meta = json.loads(sample["json"])
    counts = {
        "driving": len(decode_video(sample["driving.mp4"])),
        "output": len(decode_video(sample["output.mp4"])),
        "parts": len(decode_npz(sample["parts.npz"])["parts"]),
        "poses": len(decode_npz(sample["motion.npz"])["poses"]),
        "music": len(decode_npz(sample["music.npz"])["features"]),
    }
    assert set(counts.values()) == {meta["num_frames"]} and meta["num_frames"] == 75, counts
    # each decoded video is the store's lossless frames, frame for frame, not shifted by one
    index = pd.read_parquet(synth["index"]).set_index("key_animate")
    store = Store(synth["store"])
    for member, truth, margin in (
        ("output.mp4", store.open("animate", key)["frames"][:], 2.5),  # a calm sway: 3.5x
        ("driving.mp4", store.open("align", index.loc[key, "key_align"])["rgb"][:], 1.5),
    ):
        video = decode_video(sample[member])
        same = big_errors(video, truth)
        assert same * margin < big_errors(video[1:], truth[:-1]), member
        assert same * margin < big_errors(video[:-1], truth[1:]), member
    for name in ("driving.mp4", "output.mp4"):
        path = synth["root"] / f"probe-{name}"
        path.write_bytes(sample[name])
        assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == meta["fps"] == 30


def test_workers_and_ranks_share_the_clips_without_repeats(synth, tmp_path, monkeypatch):
    one_shard = tmp_path / "one"
    export_dataset(synth["index"], str(synth["store"]), [("webdataset", str(one_shard))], ALL_TRAIN)
    dataset = ShardDataset(str(synth["wds"]), window=4)  # 2 shards, 2 workers: one each
    # spawned workers: a worker forked from this process, which ran synth's Prefect flow
    # in-process, exits at start
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, num_workers=2, multiprocessing_context="spawn"
    )
    assert sorted(item["key"] for item in loader) == sorted(listed_keys(synth["wds"]))
    # 2 ranks (x 1 worker): by shard over 2 shards, by sample within 1 shard
    for root in (synth["wds"], one_shard):
        per_rank = []
        for rank in range(2):
            monkeypatch.setattr(reader_module, "consumer", lambda rank=rank: (rank, 2))
            per_rank.append([item["key"] for item in ShardDataset(str(root), window=4)])
        assert per_rank[0] and per_rank[1]
        assert sorted(per_rank[0] + per_rank[1]) == sorted(listed_keys(root))


def test_a_raise_mid_export_lists_only_whole_shards_and_a_rerun_completes(
    synth, tmp_path, monkeypatch
):
    dest, real, calls = tmp_path / "wds", task_module.clip_sample, []

    def third_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(task_module, "clip_sample", third_fails)
    exports = [("webdataset", str(dest))]
    with pytest.raises(OSError, match="disk full"):
        export_dataset(synth["index"], str(synth["store"]), exports, TWO_PER_SHARD + ALL_TRAIN)
    assert len(listed_keys(dest)) == 2 and sorted(shard_keys(dest)) == sorted(listed_keys(dest))
    assert not list(dest.glob(".*partial*"))
    monkeypatch.setattr(task_module, "clip_sample", real)
    summary = export_dataset(synth["index"], str(synth["store"]), exports, TWO_PER_SHARD)
    assert summary["webdataset"]["added"] == 1
    everything = sorted(listed_keys(synth["wds"]))
    assert sorted(shard_keys(dest)) == sorted(listed_keys(dest)) == everything


KILLER = """
import os, signal, sys, tarfile
from tasks.dataset.task import export_dataset
added = []
real = tarfile.TarFile.addfile
def addfile(self, info, fileobj=None):
    added.append(info.name)
    if len(added) == int(sys.argv[4]):  # SIGKILL in the middle of a sample: no cleanup runs
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, info, fileobj)
tarfile.TarFile.addfile = addfile
export_dataset(sys.argv[1], sys.argv[2], [("webdataset", sys.argv[3])], %r)
"""


# 8 members a sample, 2 samples a shard: killed in shard 1; in shard 2 after shard 1 was listed
@pytest.mark.parametrize("members_before_kill", [5, 20])
def test_a_killed_export_leaves_no_partial_listing_and_a_rerun_completes(
    synth, tmp_path, members_before_kill
):
    dest = tmp_path / "wds"
    script = KILLER % (TWO_PER_SHARD + ALL_TRAIN)
    args = [synth["index"], synth["store"], dest, members_before_kill]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env, cwd=ROOT)
    assert run.returncode == -9
    listed = listed_keys(dest)
    assert len(listed) == (0 if members_before_kill <= 16 else 2)
    assert sorted(shard_keys(dest)) == sorted(listed)
    export_dataset(synth["index"], str(synth["store"]), [("webdataset", str(dest))], ALL_TRAIN)
    keys = shard_keys(dest)
    assert sorted(keys) == sorted(set(keys)) == sorted(listed_keys(synth["wds"]))
    assert not list(dest.glob(".*partial*"))


def test_the_split_depends_on_the_key_alone(synth, tmp_path):
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}
    keys = [f"{i:064x}" for i in range(2000)]
    splits = [split_of(k, ratios) for k in keys]
    assert splits == [split_of(k, ratios) for k in keys]
    shares = {name: splits.count(name) / len(keys) for name in ratios}
    assert all(abs(shares[n] - ratios[n]) < 0.03 for n in ratios), shares
    # two exports with other ratios' rows in another order put every clip in the same split
    sets = ["dataset.train_ratio=0.34", "dataset.val_ratio=0.33", "dataset.test_ratio=0.33"]
    index = pd.read_parquet(synth["index"])
    flipped = tmp_path / "flipped.parquet"
    index.iloc[::-1].to_parquet(flipped)
    where = []
    for i, source in enumerate((synth["index"], flipped)):
        export_dataset(source, str(synth["store"]), [("webdataset", str(tmp_path / f"d{i}"))], sets)
        shards = read_shard_list(str(tmp_path / f"d{i}"))
        where.append({key: s["split"] for s in shards for key in s["keys"]})
    assert where[0] == where[1] and len(where[0]) == 3
    third = {"train": 0.34, "val": 0.33, "test": 0.33}
    assert all(split == split_of(key, third) for key, split in where[0].items())


def test_bad_dataset_settings_are_named(synth, tmp_path):
    with pytest.raises(InputError, match="sum to 1.05"):
        dataset_params(["dataset.train_ratio=0.95"])
    with pytest.raises(InputError, match="unknown format"):
        export_dataset(synth["index"], str(synth["store"]), [("lmdb", str(tmp_path))])


def test_shards_on_s3_are_written_and_streamed_like_local_ones(synth):
    with moto_s3("m2d-dataset") as options:
        url = "s3://m2d-dataset/ds"
        exports = [("webdataset", url)]
        summary = export_dataset(synth["index"], str(synth["store"]), exports, ALL_TRAIN)
        assert summary["webdataset"]["added"] == 3
        assert export_dataset(synth["index"], str(synth["store"]), exports)["webdataset"] == {
            "dest": url,
            "added": 0,
            "clips": 3,
            "shards": 1,
        }
        dataset = ShardDataset(url, window=4, storage_options=options)
        assert sorted(item["key"] for item in dataset) == sorted(listed_keys(synth["wds"]))
        import fsspec

        fs = fsspec.filesystem("s3", **options)
        assert {p.rsplit("/", 1)[-1] for p in fs.ls("m2d-dataset/ds")} == {
            SHARD_LIST,
            "train-000000.tar",
            "index.parquet",
        }


def test_tiktok_export_trains_the_face_adapter_two_steps(synth, tmp_path):
    from tests.tasks.animate.magicanimate.ma_tiny import tiny_release

    videos = sorted((synth["tiktok"] / "train").iterdir())
    assert len(videos) == 3
    for video in videos:
        images = sorted(p.name for p in (video / "images").iterdir())
        assert images == sorted(p.name for p in (video / "densepose").iterdir())
        assert len(images) == 75 and images[0] == "0001.png"
        faces = json.loads((video / "faces.json").read_text())
        parts = cv2.imread(str(video / "densepose" / "0001.png"))
        top, right, bottom, left = faces["0001"]
        assert 0 <= top < bottom <= parts.shape[0] and 0 <= left < right <= parts.shape[1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        weights = tiny_release(tmp_path / "pretrained_models")
        argv = ["train-animator", "--weights", weights, "--data", synth["tiktok"] / "train"]
        argv += ["--out", tmp_path / "run", "--steps", "2", "--window-frames", "2"]
        argv += ["--resolution", "64", "--face-crop", "32", "--face-hidden", "16", "--device"]
        assert cli.main([str(a) for a in [*argv, "cpu"]]) == 0
    finally:
        torch.set_num_threads(threads)
    checkpoint = torch.load(tmp_path / "run" / "face_adapter.pt", weights_only=True)
    assert checkpoint["global_step"] == 2
