"""Export synthesized clips from the store into training datasets: WebDataset shards or the
TikTok folder layout. Reads the synth index (done rows) and the store; writes only under the
destination, so it can be rerun at any time and adds just the clips that are missing."""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifacts.remote import RemoteStore, open_store
from artifacts.store import Store
from params import resolve_params
from tasks.animate.task import VIDEO_NAME
from tasks.base import InputError, Param
from tasks.dataset.media import encode_npz, encode_png, encode_video
from tasks.dataset.shards import ShardWriter, dataset_fs, publish_file
from tasks.dataset.split import SPLITS, check_ratios, split_of
from tasks.dataset.tiktok import face_boxes, stale_folders, write_video_folder

log = logging.getLogger("music2dance.dataset")

CATALOGUE = "index.parquet"
CHUNK = 8  # frames read from the store at a time
FORMATS = ("webdataset", "tiktok")

PARAMS = {
    "train_ratio": Param(float, min=0.0, max=1.0, help="share of clips in the train split"),
    "val_ratio": Param(float, min=0.0, max=1.0, help="share of clips in the val split"),
    "test_ratio": Param(float, min=0.0, max=1.0, help="share of clips in the test split"),
    "shard_max_bytes": Param(int, min=1, help="a shard is closed before it grows past this"),
    "shard_max_clips": Param(int, min=1, help="a shard is closed at this many clips"),
    "crf": Param(int, min=0, max=51, help="H.264 quality of the driving video, lower is better"),
}


def dataset_params(overrides: Iterable[str] = ()) -> dict[str, Any]:
    """params/defaults.yaml `dataset:` with `dataset.K=V` overrides, ratios checked."""
    params = resolve_params({"dataset": PARAMS}, overrides)["dataset"]
    check_ratios(_ratios(params))
    return params


def _ratios(params: Mapping[str, Any]) -> dict[str, float]:
    return {name: params[f"{name}_ratio"] for name in SPLITS}


def done_clips(index: str | Path) -> list[dict[str, Any]]:
    """The index's done rows, one per distinct clip (rows with the same animate key are one
    clip), missing values as None."""
    frame = pd.read_parquet(index)
    frame = frame[frame["status"] == "done"].drop_duplicates("key_animate")
    return [
        {k: None if _missing(v) else v for k, v in rec.items()} for rec in frame.to_dict("records")
    ]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _chunks(array: Any) -> Iterator[np.ndarray]:
    for start in range(0, array.shape[0], CHUNK):
        yield np.asarray(array[start : start + CHUNK])


def _artifact_file(store: Store | RemoteStore, stage: str, key: str, name: str) -> bytes:
    if isinstance(store, RemoteStore):
        return store.fs.cat_file(f"{store.version_path(stage, key)}/{name}")
    return Path(store.file_location(stage, key, name)).read_bytes()


def _stage_keys(record: Mapping[str, Any]) -> dict[str, str]:
    return {k.removeprefix("key_"): v for k, v in record.items() if k.startswith("key_") and v}


def clip_metadata(
    record: Mapping[str, Any], store: Store | RemoteStore, split: str
) -> dict[str, Any]:
    """The sample's JSON: stage keys, the params each stage used (from its lineage), metrics and
    gate results (when synth ran with --evaluate), timing and where it came from."""
    keys = _stage_keys(record)
    animate = store.open("animate", keys["animate"])
    failed = record.get("gates_failed")
    return {
        "key": keys["animate"],
        "split": split,
        "fps": float(animate.attrs["fps"]),
        "num_frames": int(animate.attrs["num_frames"]),
        "height": int(animate.attrs["height"]),
        "width": int(animate.attrs["width"]),
        "animator": animate.attrs["model"],
        "keys": keys,
        "params": {stage: store.lineage(stage, key)["params"] for stage, key in keys.items()},
        "metrics": {
            k.removeprefix("metric_"): v for k, v in record.items() if k.startswith("metric_")
        },
        "gates": {
            "passed": record.get("passed"),
            "failed": failed.split(";") if failed else [],
        },
        "source": {name: record.get(name) for name in ("row", "audio", "image", "seed", "set")},
    }


def clip_sample(
    record: Mapping[str, Any], store: Store | RemoteStore, split: str, crf: int
) -> dict[str, bytes]:
    """Every member of one clip's sample (see tasks/dataset/__init__.py), in shard order."""
    keys = _stage_keys(record)
    align, motion = store.open("align", keys["align"]), store.open("motion", keys["motion"])
    music, animate = store.open("audio", keys["audio"]), store.open("animate", keys["animate"])
    meta = clip_metadata(record, store, split)
    audio = Path(record["audio"])
    members = {
        "reference.png": encode_png(align["reference"][:]),
        "driving.mp4": encode_video(
            _chunks(align["rgb"]),
            num_frames=meta["num_frames"],
            fps=meta["fps"],
            audio_path=audio,
            crf=crf,
        ),
        "output.mp4": _artifact_file(store, "animate", keys["animate"], VIDEO_NAME),
        "parts.npz": encode_npz(parts=align["parts"][:]),
        "motion.npz": encode_npz(
            poses=motion["poses"][:],
            trans=motion["trans"][:],
            joints=motion["joints"][:],
            joints2d=align["joints2d"][:],
        ),
        "music.npz": encode_npz(
            features=music["features"][:], onset=music["onset"][:], beats=music["beats"][:]
        ),
        f"audio.{audio.suffix.lstrip('.').lower() or 'bin'}": audio.read_bytes(),
    }
    if "mask" in animate:
        members["mask.npz"] = encode_npz(mask=animate["mask"][:].astype(bool))
    members["json"] = json.dumps(meta, indent=1, default=str).encode()
    return members


def _write_catalogue(root: str, rows: list[dict[str, Any]]) -> None:
    """DEST/index.parquet: one row per exported clip, paths relative to DEST, merged with the
    catalogue of earlier runs (plain columns, so Hugging Face `datasets` reads it)."""
    fs, base = dataset_fs(root)
    frame = pd.DataFrame.from_records(rows)
    try:
        old = pd.read_parquet(fs.open(f"{base}/{CATALOGUE}", "rb"))
        frame = pd.concat([old[~old["key"].isin(frame["key"])], frame], ignore_index=True)
    except FileNotFoundError:
        pass
    with tempfile.TemporaryDirectory(prefix="m2d-catalogue-") as folder:
        tmp = Path(folder) / CATALOGUE
        frame.to_parquet(tmp, index=False)
        publish_file(fs, tmp, f"{base}/{CATALOGUE}")


def _catalogue_row(
    record: Mapping[str, Any], key: str, split: str, location: str
) -> dict[str, Any]:
    metrics = {k: v for k, v in record.items() if k.startswith("metric_") or k == "passed"}
    source = {name: record.get(name) for name in ("row", "audio", "image", "seed")}
    return {"key": key, "split": split, "location": location, **source, **metrics}


def export_webdataset(
    records: Sequence[Mapping[str, Any]], store: Store | RemoteStore, dest: str, params: Mapping
) -> dict[str, Any]:
    """Shards of the clips not yet in `dest`'s shard list; returns what was added."""
    ratios, added, rows = _ratios(params), [], []
    with ShardWriter(
        dest, max_bytes=params["shard_max_bytes"], max_clips=params["shard_max_clips"]
    ) as writer:
        for record in records:
            key = record["key_animate"]
            if key in writer.done:
                continue
            split = split_of(key, ratios)
            writer.add(key, split, clip_sample(record, store, split, params["crf"]))
            added.append(record)
    where = {key: s["url"] for s in writer.shards for key in s["keys"]}
    for record in added:
        key = record["key_animate"]
        rows.append(_catalogue_row(record, key, split_of(key, ratios), where[key]))
    if rows:
        _write_catalogue(dest, rows)
    shards = len(writer.shards)
    return {"dest": dest, "added": len(added), "clips": len(writer.done), "shards": shards}


def export_tiktok(
    records: Sequence[Mapping[str, Any]], store: Store | RemoteStore, dest: str, params: Mapping
) -> dict[str, Any]:
    """DEST/<split>/<key[:16]>/ per clip in the TikTok layout (`train-animator --data
    DEST/train`); folders already there are kept."""
    if "://" in dest:
        raise InputError(f"--export tiktok {dest}: the TikTok layout is written to a local folder")
    root, ratios, rows = Path(dest).expanduser(), _ratios(params), []
    for stale in stale_folders(root):
        log.info("removing %s (a killed export's partial folder)", stale)
        shutil.rmtree(stale, ignore_errors=True)
    for record in records:
        keys = _stage_keys(record)
        split = split_of(keys["animate"], ratios)
        folder = root / split / keys["animate"][:16]
        if folder.is_dir():
            continue
        folder.parent.mkdir(parents=True, exist_ok=True)
        align, animate = store.open("align", keys["align"]), store.open("animate", keys["animate"])
        head_to_face = store.lineage("align", keys["align"])["params"]["head_to_face"]
        write_video_folder(
            folder,
            frames=_chunks(animate["frames"]),
            densepose=_chunks(align["rgb"]),
            faces=face_boxes(align["parts"][:], head_to_face),
            reference=align["reference"][:],
        )
        rows.append(_catalogue_row(record, keys["animate"], split, f"{split}/{folder.name}"))
    if rows:
        _write_catalogue(str(root), rows)
    return {"dest": str(root), "added": len(rows)}


EXPORTERS = {"webdataset": export_webdataset, "tiktok": export_tiktok}


def export_dataset(
    index: str | Path,
    store_root: str,
    exports: Sequence[tuple[str, str]],
    overrides: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Each (format, destination) of `exports` from the done rows of a synth index."""
    params = dataset_params(overrides)
    for fmt, _ in exports:
        if fmt not in EXPORTERS:
            raise InputError(f"--export {fmt}: unknown format (formats: {', '.join(FORMATS)})")
    records, store = done_clips(index), open_store(store_root)
    return {fmt: EXPORTERS[fmt](records, store, str(dest), params) for fmt, dest in exports}
