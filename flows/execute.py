"""Run a plan (`flows.plan.plan_run`): nothing when every stage is cached; otherwise its stages in
plan order, here, or as the `dance-video-plan` Prefect flow when PREFECT_API_URL names a server.

A single local run does not start Prefect: the stages form one chain (each needs the one before),
so a task runner would run them one after another anyway, and the temporary server Prefect starts
without PREFECT_API_URL costs 10-15 s of a 20 s run for a UI that is gone when the run ends.
With a server configured, the run is tracked in its UI like a batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artifacts.materialize import PlannedStage, materialize
from artifacts.store import ArtifactRef
from flows.dag import OUTPUT, report, stage_specs
from flows.plan import RunPlan

log = logging.getLogger("music2dance")


def use_prefect() -> bool:
    """True when a Prefect server is configured for this process (PREFECT_API_URL)."""
    return bool(os.environ.get("PREFECT_API_URL"))


def run_stages_here(stages: list[PlannedStage], store_root: str) -> list[ArtifactRef]:
    """Materialize each stage in plan order (upstream first) in this process."""
    specs = stage_specs()
    return [materialize(specs[stage.name], stage, store_root) for stage in stages]


def cached_refs(plan: RunPlan) -> list[ArtifactRef]:
    uri = plan.store.uri
    return [ArtifactRef(s.name, s.key, uri(s.name, s.key), True, 0.0) for s in plan.stages]


def run_plan(
    plan: RunPlan, runner: Callable[[list[PlannedStage], str], list[ArtifactRef]] | None = None
) -> dict[str, Any]:
    """The run report (output location, store, each stage's key, cached, seconds); `runner`
    replaces the choice between this process and the Prefect flow."""
    if plan.cached:
        log.info("every stage cached: nothing to run")
        return report(cached_refs(plan), plan.store)
    if isinstance(plan.store.root, Path):  # a local store: fail now on a read-only or full disk
        plan.store.check_writable()
    if runner is None and use_prefect():
        from flows.dance_video import run_stages

        runner = run_stages
    refs = (runner or run_stages_here)(plan.stages, plan.root)
    return report(refs, plan.store)


def fetch_output(run_report: dict[str, Any], store: Any, dst: Path) -> Path:
    """Copy the run's video out of the store (downloaded from a remote one) to `dst`."""
    key = next(s["key"] for s in run_report["stages"] if s["name"] == OUTPUT[0])
    return store.fetch_file(OUTPUT[0], key, OUTPUT[1], dst)
