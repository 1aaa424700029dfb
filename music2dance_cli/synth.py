"""`music2dance synth`: render a dataset from a manifest (CSV or Parquet), one clip per row."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from tasks.base import InputError


def _limits(texts: list[str]) -> dict[str, int] | None:
    if not texts:
        return None
    out = {}
    for text in texts:
        stage, sep, value = text.partition("=")
        if not sep or not value.strip().isdigit():
            raise InputError(f"--limit {text!r}: write it as stage=N, e.g. animate=1")
        out[stage.strip()] = int(value)
    return out


class _BatchConsole(logging.Filter):
    """The console shows a batch's own lines (plan, progress, failed rows, summary) and every
    warning; each stage's running/done lines go to the Prefect run's logs (and here with -v)."""

    def filter(self, record: logging.LogRecord) -> bool:
        stage_line = record.name.startswith("music2dance") and not record.name.startswith(
            ("music2dance.synth", "music2dance.runners")
        )
        return record.levelno >= logging.WARNING or not stage_line


def handler(args: argparse.Namespace) -> int:
    if args.verbose:
        return run_batch(args)
    console = _BatchConsole()
    for output in logging.getLogger().handlers:
        output.addFilter(console)
    try:
        return run_batch(args)
    finally:
        for output in logging.getLogger().handlers:
            output.removeFilter(console)


def run_batch(args: argparse.Namespace) -> int:
    from artifacts.remote import store_root
    from flows.runners import local_server, make_task_runner, needs_server
    from flows.synthesize import finish, log_plan, missing_artifacts, plan_manifest, read_manifest

    store = store_root(args.store)
    metric_sets = [o for o in args.set if o.startswith(("evaluate.", "gates."))]
    export_sets = [o for o in args.set if o.startswith("dataset.")]
    stage_sets = [o for o in args.set if o not in metric_sets + export_sets]
    export = [tuple(pair) for pair in args.export]
    evaluate = metric_sets if args.evaluate else None
    plans = plan_manifest(read_manifest(args.manifest), store, stage_sets)
    missing = missing_artifacts(plans)
    log_plan(plans, missing)
    if not missing:
        summary = finish(plans, {}, store, args.out, evaluate, export, export_sets)
    else:
        from flows.synthesize import synthesize_plan
        from music2dance_cli.quiet import stderr_is_terminal

        if not args.verbose:  # Dask's INFO lines, in this process and in its workers
            os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
            # what `main` filters here, in worker processes (face_recognition_models' import)
            os.environ.setdefault("PYTHONWARNINGS", "ignore:pkg_resources is deprecated")
        runner = make_task_runner(args.runner, args.dask_address, args.workers)
        with contextlib.ExitStack() as stack:
            if needs_server(args.runner) and not os.environ.get("PREFECT_API_URL"):
                # a temporary server whose state (SQLite) lives outside the output folder
                home = stack.enter_context(tempfile.TemporaryDirectory(prefix="m2d-prefect-"))
                stack.enter_context(local_server(Path(home)))
            state = synthesize_plan.with_options(task_runner=runner)(
                plans=plans,
                out=str(args.out),
                store=store,
                limits=_limits(args.limit),
                retries=args.retries,
                gpus=args.gpus,
                evaluate=evaluate,
                export=export,
                export_sets=export_sets,
                progress_bar=stderr_is_terminal(),
                return_state=True,
            )
        summary = state.result(raise_on_failure=False)  # a Failed batch carries its summary
        if isinstance(summary, BaseException):
            raise summary
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0 if summary["failed"] == 0 else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth", help="render a dataset from a manifest (audio, image, seed, set columns)"
    )
    p.add_argument("--manifest", required=True, help="CSV or Parquet: audio, image[, seed, set]")
    p.add_argument("--out", required=True, help="folder for index.parquet and videos/")
    p.add_argument("--runner", choices=["thread", "process", "dask", "ray"], default="thread")
    p.add_argument("--dask-address", help="existing Dask scheduler (or Ray) address")
    p.add_argument("--workers", type=int, help="thread/process/LocalCluster workers")
    p.add_argument(
        "--evaluate",
        action="store_true",
        help="measure every clip (BAS, PFC, identity ...) and flag rows that miss a gate "
        "(params: evaluate.*, gates.*)",
    )
    p.add_argument(
        "--gpus",
        action="store_true",
        help="dask/ray: GPU stages (animate) each request one GPU "
        "(start Dask workers with --resources GPU=1)",
    )
    p.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="STAGE=N",
        help="at most N runs of STAGE at once, server-wide (default animate=1)",
    )
    p.add_argument(
        "--export",
        nargs=2,
        action="append",
        default=[],
        metavar=("FORMAT", "DIR"),
        help="also write a training dataset of the done clips: webdataset (tar shards, a local "
        "folder or URL) or tiktok (images/, densepose/, faces.json per clip); reruns add only "
        "missing clips (params: dataset.*)",
    )
    p.add_argument("--retries", type=int, default=2, help="retries of transient IO failures")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.KEY=VALUE",
        help="override a param for every row (a row's own `set` column wins)",
    )
    p.set_defaults(func=handler)
