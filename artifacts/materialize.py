"""Run one planned stage against the store: reuse a complete artifact or compute and publish it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifacts.lineage import lineage_record
from artifacts.remote import open_store
from artifacts.store import ArtifactRef
from tasks.base import StageContext, StageSpec

log = logging.getLogger("music2dance")


@dataclass(frozen=True)
class PlannedStage:
    """A stage with its key fixed in advance; small and picklable so Prefect can pass it around."""

    name: str
    key: str
    ingredients: dict[str, Any]
    upstream: dict[str, str] = field(default_factory=dict)
    audio_path: str | None = None
    image_path: str | None = None


def materialize(spec: StageSpec, planned: PlannedStage, store_root: str) -> ArtifactRef:
    """Return the artifact for `planned`, computing it only when the store lacks a complete one.

    The store is the source of truth: a missing or evicted group recomputes whatever any
    orchestrator cache says.
    """
    store = open_store(store_root)
    if store.has(planned.name, planned.key):
        log.info("%-10s cached   %s", planned.name, planned.key[:12])
        return ArtifactRef(
            planned.name, planned.key, store.uri(planned.name, planned.key), True, 0.0
        )
    start = time.perf_counter()
    digests = {name: store.manifest_digest(name, key) for name, key in planned.upstream.items()}
    with store.staging(planned.name, planned.key) as (workdir, group):
        log.info("%-10s running  %s", planned.name, planned.key[:12])
        spec.compute(
            StageContext(
                params=planned.ingredients["params"],
                upstream={name: store.open(name, key) for name, key in planned.upstream.items()},
                out=group,
                workdir=Path(workdir),
                audio_path=Path(planned.audio_path) if planned.audio_path else None,
                image_path=Path(planned.image_path) if planned.image_path else None,
                log=logging.getLogger(f"music2dance.{planned.name}"),
            )
        )
        seconds = time.perf_counter() - start
        group.attrs["lineage"] = lineage_record(planned.key, planned.ingredients, seconds, digests)
        store.publish(workdir, planned.name, planned.key)
    log.info("%-10s done     %s in %.1f s", planned.name, planned.key[:12], seconds)
    return ArtifactRef(
        planned.name, planned.key, store.uri(planned.name, planned.key), False, round(seconds, 3)
    )
