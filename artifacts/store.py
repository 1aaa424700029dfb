"""Filesystem artifact store: one Zarr group per (stage, key), published atomically.

Layout under the store root (never inside the code tree):

    artifacts/<stage>/<key>/          a complete Zarr group + MANIFEST (checksums of every file)
    staging/<stage>-<key>-<pid>-<n>/  groups being written; renamed into place when complete
    trash/                            evicted groups, removed right after the rename

A group is complete iff it sits under `artifacts/`: it is written in `staging/`, its MANIFEST is
written last, and one `rename` moves it into place, so readers never see a partial group. Two
producers of one key both succeed: the second rename fails on the existing directory and the loser
discards its copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import zarr

log = logging.getLogger("music2dance.store")

MANIFEST = "MANIFEST.json"
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class ArtifactRef:
    """What a stage task returns: a pointer into the store, never the arrays themselves."""

    stage: str
    key: str
    uri: str
    cached: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Problem:
    stage: str
    key: str
    reason: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """The artifact store rooted at a local directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    # -- paths ---------------------------------------------------------------------------------
    def path(self, stage: str, key: str) -> Path:
        if not (
            stage.isidentifier() and len(key) == 64 and all(c in "0123456789abcdef" for c in key)
        ):
            raise ValueError(f"not an artifact address: {stage}/{key}")
        return self.root / "artifacts" / stage / key

    def uri(self, stage: str, key: str) -> str:
        return self.path(stage, key).as_uri()

    def file_location(self, stage: str, key: str, name: str) -> str:
        """Where an artifact's extra file (e.g. the animate stage's video.mp4) lives."""
        return str(self.path(stage, key) / name)

    # -- reading -------------------------------------------------------------------------------
    def has(self, stage: str, key: str) -> bool:
        return (self.path(stage, key) / MANIFEST).is_file()

    def open(self, stage: str, key: str) -> zarr.Group:
        if not self.has(stage, key):
            raise KeyError(f"no complete artifact {stage}/{key[:12]} in {self.root}")
        return zarr.open_group(str(self.path(stage, key)), mode="r")

    def lineage(self, stage: str, key: str) -> dict[str, Any]:
        return dict(self.open(stage, key).attrs.get("lineage", {}))

    def records(self, stage: str | None = None) -> Iterator[tuple[str, str, Path]]:
        base = self.root / "artifacts"
        stages = [stage] if stage else sorted(p.name for p in base.glob("*") if p.is_dir())
        for name in stages:
            for path in sorted((base / name).glob("*")):
                if (path / MANIFEST).is_file():
                    yield name, path.name, path

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def staging(self, stage: str, key: str) -> Iterator[tuple[Path, zarr.Group]]:
        """A private directory and Zarr group to write into; removed if the block raises."""
        final = self.path(stage, key)
        tmp = self.root / "staging" / f"{stage}-{key[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            yield tmp, zarr.open_group(str(tmp), mode="w")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def publish(self, tmp: Path, stage: str, key: str) -> bool:
        """Checksum every file, write the MANIFEST last, rename into place. False: lost a race."""
        manifest = {str(p.relative_to(tmp)): [p.stat().st_size, _sha256(p)] for p in _files(tmp)}
        (tmp / MANIFEST).write_text(json.dumps({"stage": stage, "key": key, "files": manifest}))
        final = self.path(stage, key)
        try:
            os.rename(tmp, final)
        except OSError:
            if not self.has(stage, key):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            log.info("%s/%s was published by a concurrent run; kept that copy", stage, key[:12])
            return False
        return True

    def evict(self, stage: str, key: str) -> None:
        """Remove an artifact atomically (rename to trash first) so it recomputes next run."""
        src = self.path(stage, key)
        trash = self.root / "trash" / f"{stage}-{key}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.rename(src, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # -- maintenance ---------------------------------------------------------------------------
    def verify_one(self, stage: str, key: str) -> str | None:
        """Reason the artifact is damaged, or None when every file matches its checksum."""
        root = self.path(stage, key)
        try:
            manifest = json.loads((root / MANIFEST).read_text())["files"]
        except (OSError, ValueError, KeyError):
            return "unreadable manifest"
        present = {str(p.relative_to(root)) for p in _files(root)}
        if missing := sorted(set(manifest) - present):
            return f"missing file {missing[0]}"
        if extra := sorted(present - set(manifest)):
            return f"unexpected file {extra[0]}"
        for name, (size, digest) in manifest.items():
            path = root / name
            if path.stat().st_size != size:
                return f"truncated file {name}"
            if _sha256(path) != digest:
                return f"altered file {name}"
        return None

    def verify(self, evict: bool = True) -> list[Problem]:
        problems = []
        for stage, key, _ in list(self.records()):
            if reason := self.verify_one(stage, key):
                problems.append(Problem(stage, key, reason))
                if evict:
                    self.evict(stage, key)
        return problems

    def gc(self, older_than_days: float | None = None) -> list[str]:
        """Drop staging dirs of dead writers and trash; optionally artifacts unused for N days."""
        removed = []
        for tmp in sorted((self.root / "staging").glob("*")):
            pid = int(tmp.name.split("-")[2]) if tmp.name.count("-") >= 3 else -1
            if not _pid_alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)
                removed.append(str(tmp.relative_to(self.root)))
        shutil.rmtree(self.root / "trash", ignore_errors=True)
        if older_than_days is not None:
            cutoff = time.time() - older_than_days * 86400
            for stage, key, path in list(self.records()):
                if (path / MANIFEST).stat().st_atime < cutoff and path.stat().st_mtime < cutoff:
                    self.evict(stage, key)
                    removed.append(f"artifacts/{stage}/{key}")
        return removed

    def size_bytes(self, path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
