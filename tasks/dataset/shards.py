"""Tar shards in the WebDataset convention, written so that a kill never lists an incomplete one.

Layout under the dataset root (a local folder or any fsspec URL, e.g. s3://bucket/ds):

    shards.json             the shard list: only complete shards, with the keys each holds
    <split>-000000.tar ...  shards of one split, numbered in the order they were completed

A shard is built in a local temp file; when full (bytes or clips) it is closed, fsynced and
renamed into place (local) or uploaded whole (an object store shows an object only once its upload
completes), and only then is it added to the shard list, which is itself replaced atomically
(temp + fsync + rename locally; one PUT remotely). A kill leaves at most an unlisted shard or
temp file behind; the next run writes the missing clips again under the next free name, which
overwrites such an orphan.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tarfile
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

log = logging.getLogger("music2dance.dataset")

SHARD_LIST = "shards.json"
FORMAT = "music2dance-webdataset/1"
_PARTIAL = ".partial-"


def dataset_fs(root: str, **storage_options: Any) -> tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path) of a dataset root given as a local path or an fsspec URL."""
    return fsspec.core.url_to_fs(str(root), **storage_options)


def read_shard_list(root: str, **storage_options: Any) -> list[dict[str, Any]]:
    """The complete shards under `root` ([] when none was written yet)."""
    fs, base = dataset_fs(root, **storage_options)
    try:
        listing = json.loads(fs.cat_file(f"{base}/{SHARD_LIST}"))
    except FileNotFoundError:
        return []
    if listing.get("format") != FORMAT:
        raise ValueError(f"{root}/{SHARD_LIST} is not a {FORMAT} shard list")
    return listing["shards"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(fs: fsspec.AbstractFileSystem, tmp: Path, final: str) -> None:
    """Move a finished local file to `final` so that it appears whole or not at all."""
    if isinstance(fs, LocalFileSystem):
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(Path(final).parent)
    else:
        fs.put_file(str(tmp), final)
        tmp.unlink()


@dataclass
class _OpenShard:
    name: str
    path: Path
    tar: tarfile.TarFile
    keys: list[str] = field(default_factory=list)


class ShardWriter:
    """Adds samples ({ext: bytes}) to per-split shards of at most `max_bytes` / `max_clips`."""

    def __init__(
        self, root: str, *, max_bytes: int, max_clips: int, **storage_options: Any
    ) -> None:
        self.root = str(root).rstrip("/")
        self.fs, self.base = dataset_fs(self.root, **storage_options)
        self.fs.makedirs(self.base, exist_ok=True)
        self.max_bytes, self.max_clips = max_bytes, max_clips
        self.shards = read_shard_list(self.root, **storage_options)
        self.done = {key for shard in self.shards for key in shard["keys"]}
        local = isinstance(self.fs, LocalFileSystem)
        # local temp files sit beside the shards, so the final rename never crosses devices
        self._tmpdir = Path(self.base) if local else Path(tempfile.mkdtemp(prefix="m2d-shards-"))
        if local:
            for stale in self._tmpdir.glob(f".*{_PARTIAL}*"):  # a killed run's shard in progress
                stale.unlink(missing_ok=True)
        self._open: dict[str, _OpenShard] = {}

    def add(self, key: str, split: str, members: Mapping[str, bytes]) -> None:
        """Append one sample; the shard it fills up is published before this returns."""
        if key in self.done:
            return
        size = sum(len(data) + 1024 for data in members.values())  # + tar headers and padding
        shard = self._open.get(split)
        if shard is not None and shard.keys and shard.tar.offset + size > self.max_bytes:
            self._commit(split)
        shard = self._open.get(split) or self._start(split)
        for ext, data in members.items():
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size, info.mode, info.mtime = len(data), 0o444, 0  # byte-identical reruns
            shard.tar.addfile(info, io.BytesIO(data))
        shard.keys.append(key)
        self.done.add(key)
        if len(shard.keys) >= self.max_clips:
            self._commit(split)

    def close(self) -> None:
        """Publish every shard still open."""
        for split in list(self._open):
            self._commit(split)
        if not isinstance(self.fs, LocalFileSystem):
            with contextlib.suppress(OSError):
                self._tmpdir.rmdir()

    def abort(self) -> None:
        """Drop the shards in progress (their clips stay unlisted and are written next run)."""
        for shard in self._open.values():
            shard.tar.close()
            shard.path.unlink(missing_ok=True)
        self._open.clear()

    def _start(self, split: str) -> _OpenShard:
        number = sum(s["split"] == split for s in self.shards)
        name = f"{split}-{number:06d}.tar"
        path = self._tmpdir / f".{name}{_PARTIAL}{uuid.uuid4().hex[:8]}"
        tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115 (closed on commit)
        shard = _OpenShard(name, path, tar)
        self._open[split] = shard
        return shard

    def _commit(self, split: str) -> None:
        shard = self._open.pop(split)
        shard.tar.close()
        size = shard.path.stat().st_size
        publish_file(self.fs, shard.path, f"{self.base}/{shard.name}")
        self.shards.append({"url": shard.name, "split": split, "keys": shard.keys, "bytes": size})
        self._write_list()
        log.info("shard %s: %d clip(s), %.1f MB", shard.name, len(shard.keys), size / 1e6)

    def _write_list(self) -> None:
        tmp = self._tmpdir / f".{SHARD_LIST}{_PARTIAL}{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps({"format": FORMAT, "shards": self.shards}, indent=1))
        publish_file(self.fs, tmp, f"{self.base}/{SHARD_LIST}")

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: type | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def iter_samples(stream: IO[bytes]) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {ext: bytes}) per sample of a tar stream read front to back (no seeking, so it
    works on an object store's HTTP body); a sample is its consecutive members sharing a key."""
    key, sample = None, {}
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.rsplit("/", 1)[-1]
            stem, _, ext = name.partition(".")
            if stem != key and sample:
                yield key, sample
                sample = {}
            key = stem
            sample[ext] = tar.extractfile(member).read()
    if sample:
        yield key, sample
