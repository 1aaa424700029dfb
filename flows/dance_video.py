"""`dance_video`: music + one photo -> a dance video, as a Prefect flow over the six stages.

`run_stages` runs a plan made by `flows.plan.plan_run` (the CLI and the web app plan first, then
hand the stages over); `dance_video` is the `clip` deployment's entry point, which plans, runs and
writes the video where its `out` parameter says.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import Task

from artifacts.materialize import PlannedStage, materialize
from artifacts.store import ArtifactRef
from flows.dag import report, stage_specs
from flows.execute import fetch_output
from flows.plan import plan_run
from flows.reporting import send_logs_to_prefect

GPU_STAGES = {"animate"}
log = logging.getLogger("music2dance")


@cache
def stage_task(name: str) -> Task:
    """One Prefect task per stage. Prefect's own result cache is off: the store decides."""
    spec = stage_specs()[name]

    def run(planned: PlannedStage, store_root: str) -> ArtifactRef:
        send_logs_to_prefect()  # also in a Dask, Ray or process worker running this task
        return materialize(spec, planned, store_root)

    return task(
        run,
        name=name,
        task_run_name=f"{name}-{{planned.key:.12}}",
        cache_policy=NO_CACHE,
        tags=["gpu"] if name in GPU_STAGES else [],
    )


def submit_stages(planned: list[PlannedStage], store_root: str) -> list[ArtifactRef]:
    """Submit every stage with its upstream futures as dependencies; returns refs in plan order.
    Must run inside a flow."""
    futures: dict[str, Any] = {}
    for stage in planned:
        futures[stage.name] = stage_task(stage.name).submit(
            stage, store_root, wait_for=[futures[up] for up in stage.upstream if up in futures]
        )
    return [futures[stage.name].result() for stage in planned]


@flow(name="dance-video-plan", log_prints=False)
def run_stages(stages: list[PlannedStage], store_root: str) -> list[ArtifactRef]:
    """Run the stages of a plan (upstream first) as Prefect tasks."""
    send_logs_to_prefect()
    return submit_stages(stages, store_root)


@flow(name="dance-video", log_prints=False, persist_result=True)
def dance_video(
    audio: str, image: str, out: str, store: str, overrides: list[str] | None = None
) -> str:
    """Plan and render one dance video into `out` (mp4, music muxed); returns its absolute path,
    the flow run's result. Relative paths resolve against the run's working directory."""
    send_logs_to_prefect()
    plan = plan_run(audio, image, overrides or [], store)
    run_report = report(submit_stages(plan.stages, plan.root), plan.store)
    path = Path(out).expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = (f"{s['name']} {s['seconds']:.1f} s" for s in run_report["stages"])
    log.info("stages: %s", ", ".join(seconds))
    return str(fetch_output(run_report, plan.store, path))
