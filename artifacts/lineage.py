"""Lineage recorded in every group's attrs: what went in, which code made it, how long it took."""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from typing import Any

_PACKAGES = ("music2dance", "numpy", "torch", "zarr", "librosa", "prefect", "diffusers", "smplx")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def lineage_record(
    key: str,
    ingredients: dict[str, Any],
    seconds: float,
    upstream_manifests: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """`upstream_manifests`: the MANIFEST digest of each upstream read, so `cache verify` can
    tell an artifact built from a copy that was since damaged, evicted or replaced."""
    return {
        "stage": ingredients["stage"],
        "key": key,
        "version": ingredients["version"],
        "params": ingredients["params"],
        "inputs": ingredients["inputs"],
        "upstream": ingredients["upstream"],
        "upstream_manifests": dict(upstream_manifests or {}),
        "packages": package_versions(),
        "seconds": round(seconds, 3),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
    }
