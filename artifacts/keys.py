"""Artifact keys: SHA-256 over a canonical JSON encoding of everything a stage's output depends on.

Keys need upstream *keys*, not upstream data, so the whole run can be planned before any stage runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from artifacts.files import sha256_file


def canonical_json(value: Any) -> str:
    """Stable encoding (sorted keys, no whitespace) so equal inputs always hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def key_ingredients(
    stage: str,
    version: int,
    params: Mapping[str, Any],
    input_hashes: Mapping[str, str],
    upstream_keys: Mapping[str, str],
) -> dict[str, Any]:
    """The full record a key is computed from; stored in lineage so `plan` can explain a miss."""
    return {
        "stage": stage,
        "version": version,
        "params": dict(params),
        "inputs": dict(input_hashes),
        "upstream": dict(upstream_keys),
    }


def stage_key(ingredients: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(ingredients).encode()).hexdigest()


@lru_cache(maxsize=256)
def _file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_sha256(path: str | Path) -> str:
    """Content hash of a raw input file (memoised per process on path, size and mtime)."""
    stat = Path(path).stat()
    return _file_sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def path_fingerprint(path: str | Path) -> str:
    """Identity of weights or model files: SHA-256 over (relative name, size, mtime) of the file or
    of every file under the folder. Content-hashing gigabytes of weights on every plan would cost
    seconds; a replaced or touched file still changes the fingerprint."""
    root = Path(path).expanduser().resolve()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    entries = []
    for f in files:
        stat = f.stat()
        entries.append(
            [str(f.relative_to(root)) if f != root else f.name, stat.st_size, stat.st_mtime_ns]
        )
    return hashlib.sha256(canonical_json(entries).encode()).hexdigest()
