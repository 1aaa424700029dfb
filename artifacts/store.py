"""Filesystem artifact store: one Zarr group per (stage, key), published atomically.

Layout under the store root (never inside the code tree):

    artifacts/<stage>/<key>/          a complete Zarr group + MANIFEST (checksums of every file)
    staging/<stage>-<key>-<pid>-<n>/  groups being written; renamed into place when complete
    trash/                            evicted groups, removed right after the rename

A group is complete iff it sits under `artifacts/` with a valid MANIFEST: it is written in
`staging/`, its MANIFEST is written last, and one `rename` moves it into place, so readers never see
a partial group. Two producers of one key both succeed: the second rename fails on the existing
directory and the loser discards its copy. A folder there without a valid MANIFEST (a hand deletion,
a foreign tool) is incomplete: `publish` replaces it, and `verify` and `gc` evict it.

Each group's lineage records the MANIFEST digests of the upstream groups it was computed from, so
`verify` also evicts what was built from an upstream that is since damaged, evicted or replaced.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import zarr

from artifacts.files import sha256_file

log = logging.getLogger("music2dance.store")

MANIFEST = "MANIFEST.json"


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


def _read_manifest(root: Path) -> dict[str, Any] | None:
    """The MANIFEST of the group at `root` when it parses and lists files, else None."""
    try:
        manifest = json.loads((root / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    valid = isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)
    return manifest if valid else None


def lineage_problems(
    lineage: dict[str, Any],
    digest_of: Callable[[str, str], str | None],
    damaged: set[tuple[str, str]],
) -> str | None:
    """Why an artifact's lineage no longer holds: an upstream it names is damaged, gone or not
    the copy it was computed from (`digest_of(stage, key)`: that upstream's MANIFEST digest)."""
    for stage, digest in lineage.get("upstream_manifests", {}).items():
        key = lineage.get("upstream", {}).get(stage, "")
        if (stage, key) in damaged:
            return f"upstream {stage} {key[:12]} is damaged"
        current = digest_of(stage, key)
        if current is None:
            return f"upstream {stage} {key[:12]} was evicted"
        if current != digest:
            return f"upstream {stage} {key[:12]} was replaced since"
    return None


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

    def manifest_digest(self, stage: str, key: str) -> str | None:
        """SHA-256 of the artifact's MANIFEST (it names every file's checksum), None if absent."""
        try:
            return hashlib.sha256((self.path(stage, key) / MANIFEST).read_bytes()).hexdigest()
        except (OSError, ValueError):
            return None

    def open(self, stage: str, key: str) -> zarr.Group:
        if not self.has(stage, key):
            raise KeyError(f"no complete artifact {stage}/{key[:12]} in {self.root}")
        return zarr.open_group(str(self.path(stage, key)), mode="r")

    def lineage(self, stage: str, key: str) -> dict[str, Any]:
        return dict(self.open(stage, key).attrs.get("lineage", {}))

    def fetch_file(self, stage: str, key: str, name: str, dst: str | Path) -> Path:
        """Copy one extra file of an artifact (e.g. the animate stage's video.mp4) to `dst`."""
        shutil.copyfile(self.path(stage, key) / name, dst)
        return Path(dst)

    def records(self, stage: str | None = None) -> Iterator[tuple[str, str, Path]]:
        base = self.root / "artifacts"
        stages = [stage] if stage else sorted(p.name for p in base.glob("*") if p.is_dir())
        for name in stages:
            for path in sorted((base / name).glob("*")):
                if (path / MANIFEST).is_file():
                    yield name, path.name, path

    def folders(self) -> Iterator[tuple[str, str]]:
        """(stage, name) of every folder under artifacts/, complete or not."""
        base = self.root / "artifacts"
        for stage in sorted(p for p in base.glob("*") if p.is_dir()):
            for path in sorted(stage.iterdir()):
                yield stage.name, path.name

    # -- writing -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise the OSError a stage would meet writing here (read-only, not a folder, full)."""
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "the store is not a folder", str(self.root))
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        (self.root / "artifacts").mkdir(exist_ok=True)
        probe = staging / f".probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            probe.write_bytes(b"\0" * 4096)
        finally:
            probe.unlink(missing_ok=True)

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
        manifest = {
            str(p.relative_to(tmp)): [p.stat().st_size, sha256_file(p)] for p in _files(tmp)
        }
        (tmp / MANIFEST).write_text(json.dumps({"stage": stage, "key": key, "files": manifest}))
        final = self.path(stage, key)
        for attempt in range(2):
            try:
                os.rename(tmp, final)
                return True
            except OSError:
                if attempt == 0 and final.is_dir() and _read_manifest(final) is None:
                    log.warning("%s/%s had no valid MANIFEST: replaced", stage, key[:12])
                    self._discard(final)
                    continue
                if not self.has(stage, key):
                    raise
                break
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("%s/%s was published by a concurrent run; kept that copy", stage, key[:12])
        return False

    def evict(self, stage: str, key: str) -> None:
        """Remove an artifact atomically (rename to trash first) so it recomputes next run."""
        self._discard(self.path(stage, key))

    def _discard(self, src: Path) -> None:
        trash = self.root / "trash" / f"{src.parent.name}-{src.name}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.rename(src, trash)
        if trash.is_dir():
            shutil.rmtree(trash, ignore_errors=True)
        else:  # a stray file where an artifact folder belongs
            trash.unlink(missing_ok=True)

    # -- maintenance ---------------------------------------------------------------------------
    def verify_one(self, stage: str, key: str, only: Collection[str] = ()) -> str | None:
        """Reason the artifact is damaged, or None when every file matches its checksum;
        `only`: check just these files (what a reader will use, e.g. the output video)."""
        root = self.path(stage, key)
        if (record := _read_manifest(root)) is None:
            return "no valid MANIFEST"
        if only:
            if unlisted := sorted(set(only) - set(record["files"])):
                return f"missing file {unlisted[0]}"
            manifest = {name: record["files"][name] for name in only}
            present = {name for name in only if (root / name).is_file()}
        else:
            manifest = record["files"]
            present = {str(p.relative_to(root)) for p in _files(root)}
        if missing := sorted(set(manifest) - present):
            return f"missing file {missing[0]}"
        if extra := sorted(present - set(manifest)):
            return f"unexpected file {extra[0]}"
        for name, (size, digest) in manifest.items():
            path = root / name
            if path.stat().st_size != size:
                return f"truncated file {name}"
            if sha256_file(path) != digest:
                return f"altered file {name}"
        return None

    def verify(self, evict: bool = True) -> list[Problem]:
        """Damaged artifacts (checksums, MANIFEST), then those whose lineage names a damaged,
        evicted or replaced upstream, repeated until none is left; evicted unless `evict=False`."""
        problems: dict[tuple[str, str], str] = {}
        sound = []
        for stage, name in list(self.folders()):
            try:
                reason = self.verify_one(stage, name)
            except ValueError:
                reason = "not an artifact folder"
            if reason:
                problems[stage, name] = reason
            else:
                sound.append((stage, name, self.lineage(stage, name)))
        changed = True
        while changed:  # a chain (render <- densepose <- align ...) falls one link per pass
            changed = False
            for stage, key, lineage in sound:
                if (stage, key) not in problems and (
                    reason := lineage_problems(lineage, self.manifest_digest, set(problems))
                ):
                    problems[stage, key] = reason
                    changed = True
        found = [Problem(stage, key, reason) for (stage, key), reason in problems.items()]
        if evict:
            for p in found:
                self.evict_folder(p.stage, p.key)
        return found

    def evict_folder(self, stage: str, name: str) -> None:
        """Evict by folder name: also removes a folder whose name is no artifact address."""
        if not stage.isidentifier() or "/" in name or name in {"", ".", ".."}:
            raise ValueError(f"not an artifact folder: {stage}/{name}")
        self._discard(self.root / "artifacts" / stage / name)

    def gc(self, older_than_days: float | None = None) -> list[str]:
        """Drop staging dirs of dead writers and trash; optionally artifacts unused for N days."""
        removed = []
        for tmp in sorted((self.root / "staging").glob("*")):
            pid = int(tmp.name.split("-")[2]) if tmp.name.count("-") >= 3 else -1
            if not _pid_alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)
                removed.append(str(tmp.relative_to(self.root)))
        shutil.rmtree(self.root / "trash", ignore_errors=True)
        for stage, name in list(self.folders()):  # no valid MANIFEST: can never be read or rebuilt
            if _read_manifest(self.root / "artifacts" / stage / name) is None:
                self.evict_folder(stage, name)
                removed.append(f"artifacts/{stage}/{name}")
        if older_than_days is not None:
            cutoff = time.time() - older_than_days * 86400
            for stage, key, path in list(self.records()):
                if (path / MANIFEST).stat().st_atime < cutoff and path.stat().st_mtime < cutoff:
                    self.evict(stage, key)
                    removed.append(f"artifacts/{stage}/{key}")
        return removed

    def size_bytes(self, path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
