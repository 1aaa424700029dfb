"""The file helpers everything above the stages shares: a streamed SHA-256 and the atomic write.

An atomic write fills a temp file beside its destination (same folder, so same file system) and
moves it over the destination with `os.replace` only when the writing succeeded: a reader sees
the old file or the new one, never half of one, and a failed write leaves no temp file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_BLOCK = 1 << 20  # bytes hashed per read


def sha256_stream(stream: BinaryIO) -> str:
    """Hex SHA-256 of what is left in a binary stream (a local or an fsspec file)."""
    digest = hashlib.sha256()
    while block := stream.read(_BLOCK):
        digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a local file's content."""
    with open(path, "rb") as f:
        return sha256_stream(f)


@contextlib.contextmanager
def atomic_path(dst: Path) -> Iterator[Path]:
    """A temp path beside `dst` for the caller to write (it keeps `dst`'s suffix, so writers
    that pick a format by suffix still do); moved onto `dst` when the block ends without error,
    removed otherwise."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp{dst.suffix}")
    try:
        yield tmp
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> Path:
    """`data` as the content of `path`, written atomically; returns `path`."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
