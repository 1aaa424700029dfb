"""`dance_video`: music + one photo -> a dance video, as a Prefect flow over the six stages."""

from __future__ import annotations

from functools import cache
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import Task

from artifacts.materialize import PlannedStage, materialize
from artifacts.remote import open_store, store_root
from artifacts.store import ArtifactRef
from flows.dag import (
    make_plan,
    param_rules,
    report,
    stage_specs,
    validate_inputs,
    verify_reads,
)
from params import resolve_params

GPU_STAGES = {"animate"}


@cache
def stage_task(name: str) -> Task:
    """One Prefect task per stage. Prefect's own result cache is off: the store decides."""
    spec = stage_specs()[name]

    def run(planned: PlannedStage, store_root: str) -> ArtifactRef:
        return materialize(spec, planned, store_root)

    return task(
        run,
        name=name,
        task_run_name=f"{name}-{{planned.key:.12}}",
        cache_policy=NO_CACHE,
        tags=["gpu"] if name in GPU_STAGES else [],
    )


def run_plan(planned: list[PlannedStage], store_root: str) -> list[ArtifactRef]:
    """Submit every stage with its upstream futures as dependencies; returns refs in plan order."""
    futures: dict[str, Any] = {}
    for stage in planned:
        futures[stage.name] = stage_task(stage.name).submit(
            stage, store_root, wait_for=[futures[up] for up in stage.upstream]
        )
    return [futures[stage.name].result() for stage in planned]


@flow(name="dance-video", log_prints=False)
def dance_video(
    audio: str, image: str, overrides: list[str] | None = None, store: str = "store"
) -> dict[str, Any]:
    """Render one dance video; returns the run report (output artifact + per-stage refs)."""
    params = resolve_params(param_rules(), overrides or [])
    store_obj = open_store(store)
    plan = make_plan(audio, image, params, store_obj)
    verify_reads(plan, store_obj)
    validate_inputs(plan)
    refs = run_plan([entry.planned for entry in plan], store_root(store))
    return report(refs, store_obj)
