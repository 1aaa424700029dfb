"""The artifact store at any fsspec URL (s3://, gs://, file://), with the local Store's methods.

Object stores have no atomic rename, so the completion marker is what makes an artifact exist:

    <root>/artifacts/<stage>/<key>/MANIFEST.json      written last: names the version + checksums
    <root>/artifacts/<stage>/<key>/<version>/...      the Zarr group (and extra files) of one writer

A stage writes into a local staging directory (`staging`, exactly like Store). `publish` rewrites
every array with the Zarr 3 sharding codec (one shard object per ~128 MiB instead of one object
per chunk), uploads the group under a fresh version prefix, and only then PUTs the marker (a
single-object PUT is atomic). Readers open the version the marker names, so they never see a
partial upload; two producers of one key each upload their own version and the last marker wins,
whole. `gc` removes versions no marker names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import fsspec
import zarr
from zarr.storage import FsspecStore

from artifacts.files import sha256_file, sha256_stream
from artifacts.store import MANIFEST, Store

log = logging.getLogger("music2dance.store")

SHARD_BYTES = 128 << 20  # target size of one shard object


def store_root(root: str | Path) -> str:
    """The canonical text of a store root: URLs as given, local paths absolute."""
    text = str(root)
    return text if "://" in text else str(Path(text).expanduser().resolve())


def open_store(root: str | Path, **storage_options: Any) -> Store | RemoteStore:
    """A local path -> Store (atomic rename); a URL with a scheme -> RemoteStore."""
    text = str(root)
    if "://" in text:
        return RemoteStore(text, **storage_options)
    return Store(text)


def shard_shape(shape: tuple[int, ...], chunks: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Whole chunks per shard: the full extent of every axis but the first, and as many chunks
    along the first as fit in SHARD_BYTES (at least one)."""
    if not shape:
        return ()
    full = [math.ceil(n / c) * c for n, c in zip(shape, chunks, strict=True)]
    row = itemsize * math.prod(full[1:]) * chunks[0]  # bytes of one chunk-row of the shard
    per_shard = max(1, min(math.ceil(shape[0] / chunks[0]), SHARD_BYTES // max(row, 1)))
    return (per_shard * chunks[0], *full[1:])


def reshard(src: Path, dst: Path) -> None:
    """Copy the Zarr group at `src` to `dst` with every array sharded; other files as they are.
    Streams one shard at a time, so memory stays at about SHARD_BYTES."""
    source = zarr.open_group(str(src), mode="r")
    target = zarr.open_group(str(dst), mode="w")
    target.attrs.update(dict(source.attrs))
    _copy_group(source, target)
    members = {name for name, _ in source.members()} | {"zarr.json"}
    for path in src.rglob("*"):
        if path.is_file() and path.relative_to(src).parts[0] not in members:
            out = dst / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)


def _copy_group(source: zarr.Group, target: zarr.Group) -> None:
    for name, node in source.members():
        if isinstance(node, zarr.Group):
            child = target.create_group(name)
            child.attrs.update(dict(node.attrs))
            _copy_group(node, child)
            continue
        shards = shard_shape(node.shape, node.chunks, node.dtype.itemsize)
        out = target.create_array(
            name,
            shape=node.shape,
            chunks=node.chunks,
            shards=shards or None,
            dtype=node.dtype,
            fill_value=node.fill_value,
            attributes=dict(node.attrs),
        )
        if not node.shape:
            out[...] = node[...]
            continue
        for start in range(0, node.shape[0], shards[0]):
            block = slice(start, min(start + shards[0], node.shape[0]))
            out[block] = node[block]


class RemoteStore:
    """The artifact store rooted at an fsspec URL; the same public methods as `Store`."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url.rstrip("/")
        self.storage_options = storage_options
        self.fs, self.base = fsspec.core.url_to_fs(self.url, **storage_options)
        self.protocol = self.url.split("://", 1)[0]
        self.root = self.url

    # -- paths ---------------------------------------------------------------------------------
    def path(self, stage: str, key: str) -> str:
        Store.path(Store("/"), stage, key)  # the same address check as the local store
        return f"{self.base}/artifacts/{stage}/{key}"

    def uri(self, stage: str, key: str) -> str:
        return f"{self.protocol}://{self.path(stage, key)}"

    def file_location(self, stage: str, key: str, name: str) -> str:
        """The URL of an artifact's extra file (e.g. the animate stage's video.mp4)."""
        return f"{self.protocol}://{self.version_path(stage, key)}/{name}"

    def _marker(self, stage: str, key: str) -> str:
        return f"{self.path(stage, key)}/{MANIFEST}"

    def manifest(self, stage: str, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.fs.cat_file(self._marker(stage, key)))
        except (FileNotFoundError, ValueError):
            return None

    def version_path(self, stage: str, key: str) -> str:
        manifest = self.manifest(stage, key)
        if manifest is None:
            raise KeyError(f"no complete artifact {stage}/{key[:12]} in {self.url}")
        return f"{self.path(stage, key)}/{manifest['version']}"

    # -- reading -------------------------------------------------------------------------------
    def has(self, stage: str, key: str) -> bool:
        return self.fs.exists(self._marker(stage, key))

    def manifest_digest(self, stage: str, key: str) -> str | None:
        """SHA-256 of the artifact's marker (it names the version and every checksum)."""
        try:
            return hashlib.sha256(self.fs.cat_file(self._marker(stage, key))).hexdigest()
        except FileNotFoundError:
            return None

    def open(self, stage: str, key: str) -> zarr.Group:
        url = f"{self.protocol}://{self.version_path(stage, key)}"
        store = FsspecStore.from_url(url, storage_options=self.storage_options, read_only=True)
        return zarr.open_group(store, mode="r")

    def fetch_file(self, stage: str, key: str, name: str, dst: str | Path) -> Path:
        """Download one extra file of an artifact (e.g. the animate stage's video.mp4)."""
        self.fs.get_file(f"{self.version_path(stage, key)}/{name}", str(dst))
        return Path(dst)

    def lineage(self, stage: str, key: str) -> dict[str, Any]:
        return dict(self.open(stage, key).attrs.get("lineage", {}))

    def _list(self, path: str) -> list[str]:
        """Names under `path` as the bucket has them now: fsspec caches listings per
        filesystem instance, which other processes' uploads and evictions make stale."""
        self.fs.invalidate_cache(path)
        return self.fs.ls(path, detail=False) if self.fs.exists(path) else []

    def records(self, stage: str | None = None) -> Iterator[tuple[str, str, str]]:
        base = f"{self.base}/artifacts"
        if stage:
            stages = [stage]
        else:
            stages = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self._list(base))
        for name in stages:
            folder = f"{base}/{name}"
            for path in sorted(p.rstrip("/") for p in self._list(folder)):
                key = path.rsplit("/", 1)[-1]
                if self.fs.exists(f"{path}/{MANIFEST}"):
                    yield name, key, path

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def staging(self, stage: str, key: str) -> Iterator[tuple[Path, zarr.Group]]:
        """A private local directory and Zarr group to write into; removed afterwards."""
        self.path(stage, key)
        tmp = Path(tempfile.mkdtemp(prefix=f"m2d-{stage}-{key[:12]}-"))
        try:
            yield tmp, zarr.open_group(str(tmp), mode="w")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def publish(self, tmp: Path, stage: str, key: str) -> bool:
        """Shard, upload under a new version, write the marker last. False: already published."""
        if self.has(stage, key):
            log.info("%s/%s was published by a concurrent run; kept that copy", stage, key[:12])
            return False
        version = f"v-{uuid.uuid4().hex[:12]}"
        with tempfile.TemporaryDirectory(prefix="m2d-shard-") as sharded:
            reshard(Path(tmp), Path(sharded))
            files = sorted(p for p in Path(sharded).rglob("*") if p.is_file())
            manifest = {
                str(p.relative_to(sharded)): [p.stat().st_size, sha256_file(p)] for p in files
            }
            prefix = f"{self.path(stage, key)}/{version}"
            for folder in sorted({p.parent.relative_to(sharded) for p in files}):
                self.fs.makedirs(f"{prefix}/{folder}".rstrip("/."), exist_ok=True)  # file://
            for p in files:
                self.fs.put_file(str(p), f"{prefix}/{p.relative_to(sharded)}")
        record = {"stage": stage, "key": key, "version": version, "files": manifest}
        self.fs.pipe_file(self._marker(stage, key), json.dumps(record).encode())
        return True

    def evict(self, stage: str, key: str) -> None:
        """Marker first (the artifact is gone for every reader at once), then the objects."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._marker(stage, key))
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(stage, key), recursive=True)

    # -- maintenance ---------------------------------------------------------------------------
    def verify_one(self, stage: str, key: str, only: Collection[str] = ()) -> str | None:
        """Reason the artifact is damaged, or None when every object matches its checksum;
        `only`: check just these files (what a reader will use, e.g. the output video)."""
        manifest = self.manifest(stage, key)
        if manifest is None or "files" not in manifest:
            return "no valid MANIFEST"
        prefix = f"{self.path(stage, key)}/{manifest['version']}"
        listed = self.fs.find(prefix, detail=True)
        present = {p[len(prefix) + 1 :]: info["size"] for p, info in listed.items()}
        files = manifest["files"]
        if only:
            files = {name: files.get(name, [-1, ""]) for name in only}
            present = {name: size for name, size in present.items() if name in only}
        if missing := sorted(set(files) - set(present)):
            return f"missing file {missing[0]}"
        if extra := sorted(set(present) - set(files)):
            return f"unexpected file {extra[0]}"
        for name, (size, digest) in files.items():
            if present[name] != size:
                return f"truncated file {name}"
            with self.fs.open(f"{prefix}/{name}", "rb") as f:
                altered = sha256_stream(f) != digest
            if altered:
                return f"altered file {name}"
        return None

    def folders(self) -> Iterator[tuple[str, str]]:
        """Complete artifacts only: a key without a marker may be an upload in flight."""
        for stage, key, _ in self.records():
            yield stage, key

    def evict_folder(self, stage: str, key: str) -> None:
        self.evict(stage, key)

    verify = Store.verify  # same walk over folders(), verify_one(), lineage and evict_folder()

    def gc(self, older_than_days: float | None = None) -> list[str]:
        """Remove versions no marker names (lost races, crashed uploads) under complete keys.
        Versions of keys without a marker may be uploads in flight and are kept; age-based
        eviction is left to the bucket's lifecycle rules, so `older_than_days` is not used."""
        removed = []
        for stage, key, path in list(self.records()):
            keep = self.manifest(stage, key)["version"]
            for child in self._list(path):
                name = child.rstrip("/").rsplit("/", 1)[-1]
                if name.startswith("v-") and name != keep:
                    self.fs.rm(child, recursive=True)
                    removed.append(f"artifacts/{stage}/{key}/{name}")
        return removed

    def size_bytes(self, path: str) -> int:
        return int(self.fs.du(path))
