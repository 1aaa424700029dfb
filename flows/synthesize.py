"""`synthesize`: a dataset of dance videos from a manifest (one clip per row), as one Prefect flow.

1. Read the manifest (CSV or Parquet: audio, image, optional seed, optional `set` column of
   `;`-separated stage.key=value overrides).
2. Plan every row: keys only, no stage work. A bad row (missing file, no face, bad param) is
   recorded with its error and skipped; the others go on.
3. Submit each missing artifact once, even when rows share it (same audio + seed share audio,
   motion, render and densepose), with its upstream futures as dependencies. Per-stage tag
   concurrency limits on the Prefect server bound e.g. animate to one at a time; transient IO
   failures are retried, anything else fails at once.
4. Write the dataset index (Parquet): row, status, error, every stage key, output paths.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_client
from prefect.context import get_run_context
from prefect.states import State
from prefect.tasks import Task

from artifacts.files import atomic_path
from artifacts.materialize import PlannedStage
from artifacts.remote import RemoteStore, open_store
from artifacts.remote import store_root as normalize_root
from artifacts.store import Store
from flows.dag import STAGE_ORDER, PlanEntry, validate_inputs
from flows.dance_video import GPU_STAGES, stage_task
from flows.evaluate import evaluate_run, evaluation_params
from flows.plan import plan_run
from flows.reporting import (
    batch_state,
    log_failed_rows,
    publish_batch,
    send_logs_to_prefect,
    task_run_names,
    wait_rows,
)
from tasks.base import InputError

log = logging.getLogger("music2dance.synth")

DEFAULT_LIMITS = {"animate": 1}  # one animate at a time: it holds the GPU
TAG_PREFIX = "music2dance-"
INDEX_NAME = "index.parquet"
VIDEO = "video.mp4"  # the animate artifact's muxed video
# errno values worth a retry: the disk, the network or a remote store hiccuped.
_TRANSIENT_ERRNOS = {
    errno.EIO,
    errno.EAGAIN,
    errno.EBUSY,
    errno.EINTR,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ESTALE,
}


# -- manifest ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestRow:
    row: int
    audio: str
    image: str
    seed: int | None = None
    overrides: tuple[str, ...] = ()

    def params_overrides(self, base: Iterable[str] = ()) -> list[str]:
        """Batch overrides, then the row's seed, then the row's own `set` column (last wins)."""
        seed = [] if self.seed is None else [f"motion.seed={self.seed}"]
        return [*base, *seed, *self.overrides]


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Rows of a CSV or Parquet manifest; relative file paths are relative to the manifest."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"manifest not found: {path} (check the path)")
    parquet = path.suffix.lower() in {".parquet", ".pq"}
    try:
        if parquet:
            frame = pd.read_parquet(path).astype(object).where(lambda f: f.notna(), "")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except ValueError as err:  # empty, unterminated quote, binary, not Parquet (all ValueErrors)
        why = (str(err).strip().splitlines() or ["empty"])[0][:160]
        kind = "Parquet" if parquet else "UTF-8 CSV"
        raise InputError(
            f"manifest {path} is not a readable {kind} ({why}): write a {kind} file with "
            "audio and image columns"
        ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if missing := [c for c in ("audio", "image") if c not in frame.columns]:
        raise InputError(f"manifest {path} lacks column(s) {', '.join(missing)}")
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        seed = str(rec.get("seed", "")).strip()
        sets = str(rec.get("set", "")).strip()
        rows.append(
            ManifestRow(
                row=i,
                audio=_relative_to(path.parent, str(rec["audio"]).strip()),
                image=_relative_to(path.parent, str(rec["image"]).strip()),
                # a bad seed becomes a bad override: that row fails with the param's own message
                seed=int(float(seed)) if _is_number(seed) else None,
                overrides=tuple(s.strip() for s in sets.split(";") if s.strip())
                + (() if not seed or _is_number(seed) else (f"motion.seed={seed}",)),
            )
        )
    return rows


def _is_number(text: str) -> bool:
    try:
        return float(text).is_integer()
    except ValueError:
        return False


def _relative_to(folder: Path, name: str) -> str:
    return name if not name or Path(name).expanduser().is_absolute() else str(folder / name)


# -- planning ------------------------------------------------------------------------------------
@dataclass
class RowPlan:
    row: ManifestRow
    stages: list[PlannedStage] = field(default_factory=list)
    cached: dict[str, bool] = field(default_factory=dict)
    error: str | None = None


def plan_manifest(
    rows: Iterable[ManifestRow], store_root: str | Path, overrides: Iterable[str] = ()
) -> list[RowPlan]:
    """Every row's plan (`plan_run`); input checks run once per distinct file and params.
    Misses are not explained: comparing each with earlier artifacts costs minutes per 1,000 rows."""
    plans = []
    for row in rows:
        plan = RowPlan(row)
        try:
            run = plan_run(
                row.audio,
                row.image,
                row.params_overrides(overrides),
                store_root,
                explain=False,
                validate=_validate_once,
            )
            plan.stages = run.stages
            plan.cached = {e.planned.name: e.cached for e in run.entries}
        except InputError as err:
            plan.error = str(err)
        plans.append(plan)
    return plans


def _validate_once(entries: list[PlanEntry]) -> None:
    """`validate_inputs` (decode the audio, find the face) memoised on what it would look at, for
    this process: a file is identified by path, size and mtime, like `file_sha256`."""
    to_run = [e.planned for e in entries if not e.cached]
    audio = next((p.audio_path for p in to_run if p.audio_path), None)
    image = next((p.image_path for p in to_run if p.image_path), None)
    params = {e.planned.name: e.planned.ingredients["params"] for e in entries}
    memo = (_identity(audio), json.dumps(params, sort_keys=True), _identity(image))
    if memo not in _CHECKED:
        try:
            validate_inputs(entries)
            _CHECKED[memo] = None
        except InputError as err:
            _CHECKED[memo] = str(err)
    if _CHECKED[memo] is not None:
        raise InputError(_CHECKED[memo])


def _identity(path: str | None) -> tuple | None:
    if path is None:
        return None
    stat = Path(path).stat()
    return path, stat.st_size, stat.st_mtime_ns


_CHECKED: dict[tuple, str | None] = {}


def missing_artifacts(plans: Iterable[RowPlan]) -> list[PlannedStage]:
    """Each artifact no row has in the store, once, row by row in manifest order (a row's
    stages upstream first, an artifact it shares with an earlier row already listed there).
    Workers take them in this order, so rows finish one after another and the progress bar's
    rate and ETA mean something (stage by stage, every row finished at the end of the batch)."""
    unique: dict[tuple[str, str], PlannedStage] = {}
    for plan in plans:
        for stage in sorted(plan.stages, key=lambda s: STAGE_ORDER.index(s.name)):
            if plan.error is None and not plan.cached[stage.name]:
                unique.setdefault((stage.name, stage.key), stage)
    return list(unique.values())


# -- running -------------------------------------------------------------------------------------
def is_transient(exc: BaseException | None) -> bool:
    """IO that may work on a second try (flaky disk, network, remote store); never bad input,
    a bug, or a missing file."""
    if isinstance(exc, ConnectionError | TimeoutError | InterruptedError | BlockingIOError):
        return True
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return False
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def _retry_transient(task: Task, task_run: Any, state: Any) -> bool:
    return is_transient(state.result(raise_on_failure=False))


def _stage_tasks(retries: int, retry_delay_seconds: float) -> dict[str, Task]:
    tasks = {}
    for name in STAGE_ORDER:
        base = stage_task(name)
        tasks[name] = base.with_options(
            tags=set(base.tags) | {TAG_PREFIX + name},
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            retry_condition_fn=_retry_transient,
        )
    return tasks


def set_stage_limits(limits: Mapping[str, int]) -> None:
    """Per-stage concurrency limits on the server (tag limits, shared by every flow run)."""
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            if name not in STAGE_ORDER:
                raise InputError(f"limit for unknown stage {name!r} (stages: {STAGE_ORDER})")
            client.upsert_global_concurrency_limit_by_name(f"tag:{TAG_PREFIX}{name}", int(limit))


def _error(future: Any) -> str | None:
    """None when the run completed; its exception as one line when it failed."""
    state = future.state
    if state.is_completed():
        return None
    if state.is_failed() or state.is_crashed():
        exc = state.result(raise_on_failure=False)
        return f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    return f"did not run ({state.name})"


def gpu_placement(stage: str, gpus: bool) -> contextlib.AbstractContextManager:
    """With `gpus`, each GPU stage asks the cluster for one GPU: a Dask resource annotation
    (workers started with `--resources GPU=1`) or Ray's num_gpus. Other runners ignore it."""
    if not gpus or stage not in GPU_STAGES:
        return contextlib.nullcontext()
    runner = type(get_run_context().task_runner).__name__
    if runner == "DaskTaskRunner":
        import dask

        return dask.annotate(resources={"GPU": 1})
    if runner == "RayTaskRunner":
        from prefect_ray.context import remote_options

        return remote_options(num_gpus=1)
    return contextlib.nullcontext()


def submit_missing(
    missing: list[PlannedStage],
    store_root: str,
    tasks: Mapping[str, Task],
    gpus: bool = False,
    names: Mapping[tuple[str, str], str] | None = None,
) -> dict:
    """(stage, key) -> future, each missing artifact submitted once after its upstream; `names`:
    task run names by (stage, key) (`flows.reporting.task_run_names`)."""
    futures: dict[tuple[str, str], Any] = {}
    for stage in missing:
        after = [futures[up] for up in stage.upstream.items() if up in futures]
        task = tasks[stage.name]
        if names is not None:
            task = task.with_options(task_run_name=names[stage.name, stage.key])
        with gpu_placement(stage.name, gpus):
            future = task.submit(stage, store_root, wait_for=after)
        futures[stage.name, stage.key] = future
    return futures


# -- index ---------------------------------------------------------------------------------------
def row_record(
    plan: RowPlan, futures: Mapping[tuple[str, str], Any], store: Store | RemoteStore
) -> dict:
    """One index row: the first failing stage names the error; later stages did not run."""
    error, computed = plan.error, []
    for stage in plan.stages:
        if error is not None:
            break
        if future := futures.get((stage.name, stage.key)):
            computed.append(stage.name)
            if (failed := _error(future)) is not None:
                error = f"{stage.name}: {failed}"
    keys = {s.name: s.key for s in plan.stages}
    ok = error is None and "animate" in keys
    return {
        "row": plan.row.row,
        "audio": plan.row.audio,
        "image": plan.row.image,
        "seed": plan.row.seed,
        "set": ";".join(plan.row.overrides),
        "status": "failed" if error else "done",
        "error": error,
        **{f"key_{name}": keys.get(name) for name in STAGE_ORDER},
        "computed": ",".join(computed),
        "video": store.file_location("animate", keys["animate"], VIDEO) if ok else None,
        "frames": store.uri("animate", keys["animate"]) if ok else None,
    }


def write_index(records: list[dict], out: Path) -> Path:
    """The dataset index, replaced atomically so readers never see half a file."""
    path = out / INDEX_NAME
    with atomic_path(path) as tmp:
        pd.DataFrame.from_records(records).to_parquet(tmp, index=False)
    return path


def copy_videos(records: list[dict], out: Path, store: Store | RemoteStore) -> None:
    """out/videos/<row>.mp4 for every done row: hard links into a local store where possible,
    downloads from a remote one (the index keeps the artifact's URL in `video`)."""
    folder = out / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    for rec in records:
        if rec["video"] is None:
            rec["output"] = None
            continue
        dst = folder / f"{rec['row']:06d}.mp4"
        dst.unlink(missing_ok=True)
        if isinstance(store, RemoteStore):
            store.fetch_file("animate", rec["key_animate"], VIDEO, dst)
            rec["output"] = str(dst)
            continue
        try:
            os.link(rec["video"], dst)
        except OSError:
            shutil.copyfile(rec["video"], dst)
        rec["output"] = str(dst)


def summarize(records: list[dict], index: Path, submitted: int) -> dict[str, Any]:
    failed = [r for r in records if r["status"] == "failed"]
    return {
        "rows": len(records),
        "done": len(records) - len(failed),
        "failed": len(failed),
        "computed": submitted,
        "index": str(index),
        "errors": {r["row"]: r["error"] for r in failed},
    }


def add_metrics(records: list[dict], store_root: str, overrides: Iterable[str]) -> None:
    """Metrics and quality gates per done row (cached `evaluate` artifacts); a row that misses a
    gate stays in the index, flagged with `passed=False` and the gates it missed."""
    from tasks.evaluate.gates import evaluate_gates

    params, gates = evaluation_params(overrides)
    for rec in records:
        if rec["status"] != "done":
            continue
        keys = {name: rec[f"key_{name}"] for name in STAGE_ORDER}
        metrics = dict(evaluate_run(keys, params, store_root).attrs["metrics"])
        failed = evaluate_gates(metrics, gates)
        rec.update({f"metric_{k}": v for k, v in metrics.items()})
        rec.update({"gates_failed": ";".join(failed), "passed": not failed})


def finish(
    plans: list[RowPlan],
    futures: Mapping,
    store_root: str,
    out: str,
    evaluate: Iterable[str] | None = None,
    export: Iterable[tuple[str, str]] = (),
    export_sets: Iterable[str] = (),
) -> dict[str, Any]:
    """Index, videos and summary; with `evaluate` (evaluate.*/gates.* overrides, maybe empty)
    every done row is measured too; `export`: (format, folder) training datasets of the done
    clips (tasks/dataset, dataset.* overrides in `export_sets`), a rerun adds only missing ones."""
    store = open_store(store_root)
    records = [row_record(p, futures, store) for p in plans]
    if evaluate is not None:
        add_metrics(records, store_root, evaluate)
    copy_videos(records, Path(out), store)
    index = write_index(records, Path(out))
    summary = summarize(records, index, len(futures))
    if evaluate is not None:  # how many measured rows missed each gate (the index says which)
        missed = Counter(
            g for r in records if r.get("gates_failed") for g in r["gates_failed"].split(";")
        )
        summary["passed"] = sum(r.get("passed") is True for r in records)
        summary["gates_failed"] = dict(missed)
    if export := list(export):
        from tasks.dataset.task import export_dataset

        summary["export"] = export_dataset(index, store_root, export, export_sets)
    (Path(out) / "summary.json").write_text(json.dumps(summary, indent=2))
    log_failed_rows(records)
    log.info("%d rows: %d done, %d failed", summary["rows"], summary["done"], summary["failed"])
    publish_batch(records, summary, futures)
    return summary


def log_plan(plans: list[RowPlan], missing: list[PlannedStage]) -> None:
    bad = sum(p.error is not None for p in plans)
    log.info("%d rows (%d bad); %d artifact(s) to compute", len(plans), bad, len(missing))


def run_rows(
    plans: list[RowPlan],
    out: str,
    store_root: str,
    limits: Mapping[str, int] | None,
    retries: int,
    retry_delay_seconds: float,
    gpus: bool,
    progress_bar: bool = False,
    **outputs: Any,
) -> dict[str, Any] | State:
    """Inside a flow: submit every missing artifact once, wait row by row (a progress bar on a
    terminal), then `finish` (index, videos, summary; `outputs`: its evaluate, export and
    export_sets). The flow ends Failed, carrying the summary, when any row failed."""
    set_stage_limits(DEFAULT_LIMITS if limits is None else limits)
    tasks = _stage_tasks(retries, retry_delay_seconds)
    names = task_run_names(plans)
    futures = submit_missing(missing_artifacts(plans), store_root, tasks, gpus, names)
    wait_rows(plans, futures, progress_bar)
    return batch_state(finish(plans, futures, store_root, out, **outputs))


@flow(name="synthesize-plan", log_prints=False, persist_result=True)
def synthesize_plan(
    plans: list[RowPlan],
    out: str,
    store: str,
    limits: dict[str, int] | None = None,
    retries: int = 2,
    retry_delay_seconds: float = 5.0,
    gpus: bool = False,
    evaluate: list[str] | None = None,
    export: list[tuple[str, str]] | None = None,
    export_sets: list[str] | None = None,
    progress_bar: bool = False,
) -> dict[str, Any] | State:
    """Run rows planned by `plan_manifest` (what `music2dance synth` calls after planning);
    `progress_bar`: draw one on stderr (a terminal)."""
    send_logs_to_prefect()
    return run_rows(
        plans,
        out,
        normalize_root(store),
        limits,
        retries,
        retry_delay_seconds,
        gpus,
        progress_bar,
        evaluate=evaluate,
        export=export or (),
        export_sets=export_sets or (),
    )


@flow(name="synthesize", log_prints=False, persist_result=True)
def synthesize(
    manifest: str,
    out: str,
    store: str,
    overrides: list[str] | None = None,
    limits: dict[str, int] | None = None,
    retries: int = 2,
    retry_delay_seconds: float = 5.0,
    gpus: bool = False,
    evaluate: list[str] | None = None,
    export: list[tuple[str, str]] | None = None,
    export_sets: list[str] | None = None,
) -> dict[str, Any] | State:
    """Plan and render every manifest row (the deployments' entry point); returns the summary
    (rows, done, failed, index path), or a Failed state carrying it when rows failed. `gpus`: GPU
    stages request one GPU each from a Dask or Ray cluster. `evaluate` (evaluate.*/gates.*
    overrides, maybe empty): metrics and quality gates per row in the index; `export`: (format,
    folder) training datasets (dataset.* overrides in `export_sets`)."""
    send_logs_to_prefect()
    root = normalize_root(store)
    plans = plan_manifest(read_manifest(manifest), root, overrides or [])
    log_plan(plans, missing_artifacts(plans))
    return run_rows(
        plans,
        out,
        root,
        limits,
        retries,
        retry_delay_seconds,
        gpus,
        evaluate=evaluate,
        export=export or (),
        export_sets=export_sets or (),
    )
