"""What a batch tells Prefect and the person watching it: the tool's log lines in the run's logs,
task run names that map to manifest rows, a progress bar per row, a table artifact and a link to
the index, and a final state that is not green when rows failed."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler
from prefect.states import Failed, State

log = logging.getLogger("music2dance.synth")

TOOL_LOGGER = "music2dance"
TABLE_KEY = "synthesize-batch"  # one key per kind: Prefect keeps each batch as a new version
INDEX_KEY = "synthesize-index"
LISTED_ERRORS = 20  # failed rows named in the table artifact (all are in the index and the logs)


# -- logs ----------------------------------------------------------------------------------------
class _InRun(logging.Filter):
    """Records logged inside a flow or task run only: the API files each under its run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def send_logs_to_prefect() -> None:
    """The tool's own lines (music2dance.*: plan counts, stage lines, row errors) also go to the
    run's logs on the Prefect server, as PREFECT_LOGGING_EXTRA_LOGGERS=music2dance would if it
    were set before Prefect configured logging."""
    tool = logging.getLogger(TOOL_LOGGER)
    if not any(isinstance(h, APILogHandler) for h in tool.handlers):
        handler = APILogHandler()
        handler.addFilter(_InRun())
        tool.addHandler(handler)
    if tool.level == logging.NOTSET:  # a worker's flow run: Prefect sets only its own loggers
        tool.setLevel(logging.INFO)


# -- task run names ------------------------------------------------------------------------------
def _rows_text(rows: list[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:3])
    return f"rows {shown}" + (f" +{len(rows) - 3} more" if len(rows) > 3 else "")


def task_run_names(plans: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(stage, key) -> `animate row 3: song.wav + me.jpg`: the manifest rows an artifact serves
    and the input files of its first row (rows that share it share those files). Braces are
    doubled: Prefect formats a task run name with the task's parameters."""
    rows: dict[tuple[str, str], list[int]] = {}
    files: dict[tuple[str, str], str] = {}
    for plan in plans:
        for stage in plan.stages:
            key = stage.name, stage.key
            rows.setdefault(key, []).append(plan.row.row)
            reads = [plan.row.audio] if stage.name != "align" else []
            reads += [plan.row.image] if stage.name in ("align", "animate") else []
            files.setdefault(key, " + ".join(Path(p).name for p in reads))
    names = {key: f"{key[0]} {_rows_text(rows[key])}: {files[key]}" for key in rows}
    return {key: name.replace("{", "{{").replace("}", "}}") for key, name in names.items()}


# -- progress ------------------------------------------------------------------------------------
class _AboveBar:
    """A stream for the console's log handlers while a bar is drawn: each line is printed above
    the bar, which is then redrawn (the handlers keep their formats and filters)."""

    def __init__(self, tqdm_class: Any):
        self.tqdm = tqdm_class

    def write(self, text: str) -> None:
        self.tqdm.write(text, file=sys.stderr, end="")

    def flush(self) -> None:
        sys.stderr.flush()


class RowProgress:
    """Rows finished so far, counted done / failed / cached: with `bar` (a terminal), a tqdm bar
    with its ETA, log lines printed above it; otherwise a log line at every tenth of the rows.
    `finished`: the statuses of rows with nothing to wait for, counted from the start so the
    rate (and the ETA) is that of the rows that compute."""

    def __init__(self, total: int, bar: bool, finished: Iterable[str] = ()):
        self.total, self.counts = total, Counter(finished)
        self.every = max(1, total // 10)
        self.bar, self.consoles = None, {}
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(  # redrawn on every row, however close rows finish
                total=total,
                initial=self.finished,
                unit="row",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0,
                postfix=self.text,
            )
            for handler in logging.getLogger().handlers:
                if type(handler) is logging.StreamHandler and handler.stream is sys.stderr:
                    self.consoles[handler] = handler.setStream(_AboveBar(tqdm))

    @property
    def finished(self) -> int:
        return sum(self.counts.values())

    @property
    def text(self) -> str:
        return ", ".join(f"{self.counts[s]} {s}" for s in ("done", "failed", "cached"))

    def update(self, status: str) -> None:
        self.counts[status] += 1
        if self.bar is not None:
            self.bar.set_postfix_str(self.text, refresh=False)
            self.bar.update(1)
        elif self.finished % self.every == 0 or self.finished == self.total:
            log.info("rows %d/%d: %s", self.finished, self.total, self.text)

    def close(self) -> None:
        for handler, stream in self.consoles.items():
            handler.setStream(stream)
        if self.bar is not None:
            self.bar.close()


def row_status(plan: Any, futures: Mapping[tuple[str, str], Any]) -> str:
    """done (something computed), cached (nothing to compute) or failed, once its runs finished."""
    if plan.error is not None:
        return "failed"
    mine = [futures[s.name, s.key] for s in plan.stages if (s.name, s.key) in futures]
    if any(not f.state.is_completed() for f in mine):
        return "failed"
    return "done" if mine else "cached"


def wait_rows(plans: list[Any], futures: Mapping[tuple[str, str], Any], bar: bool) -> None:
    """Wait for every row's runs in manifest order, counting each row as it finishes."""
    waits = [
        [futures[key] for s in plan.stages if (key := (s.name, s.key)) in futures] for plan in plans
    ]
    ready = [row_status(plan, futures) for plan, runs in zip(plans, waits, strict=True) if not runs]
    progress = RowProgress(len(plans), bar, ready)
    try:
        for plan, runs in zip(plans, waits, strict=True):
            for future in runs:
                future.wait()
            if runs:
                progress.update(row_status(plan, futures))
    finally:
        progress.close()


def log_failed_rows(records: Iterable[dict]) -> None:
    """One error line per failed row, with its inputs: in the flow run's logs in Prefect too."""
    for rec in records:
        if rec["status"] == "failed":
            log.error(
                "row %d failed (%s, %s): %s", rec["row"], rec["audio"], rec["image"], rec["error"]
            )


# -- artifacts and state -------------------------------------------------------------------------
def stage_seconds(futures: Mapping[tuple[str, str], Any]) -> dict[str, float]:
    """Seconds each stage computed for, summed over the batch's completed runs."""
    seconds: Counter[str] = Counter()
    for (name, _), future in futures.items():
        if future.state.is_completed():
            seconds[name] += future.result().seconds
    return dict(seconds)


def batch_table(
    records: list[dict], seconds: Mapping[str, float], gates: Mapping[str, int] | None
) -> list[dict[str, Any]]:
    """The batch at a glance: rows done / failed / cached, each stage's seconds, each gate's
    misses, then the first failed rows with their errors."""
    failed = [r for r in records if r["status"] == "failed"]
    cached = sum(r["status"] == "done" and not r["computed"] for r in records)
    table = [
        {"what": "rows", "value": len(records)},
        {"what": "rows done", "value": len(records) - len(failed) - cached},
        {"what": "rows cached", "value": cached},
        {"what": "rows failed", "value": len(failed)},
    ]
    table += [{"what": f"seconds {name}", "value": round(s, 2)} for name, s in seconds.items()]
    table += [{"what": f"gate missed: {gate}", "value": n} for gate, n in (gates or {}).items()]
    table += [
        {"what": f"row {r['row']} failed", "value": r["error"]} for r in failed[:LISTED_ERRORS]
    ]
    return table


def publish_batch(
    records: list[dict], summary: Mapping[str, Any], futures: Mapping[tuple[str, str], Any]
) -> None:
    """Inside a flow run: the table artifact and a link artifact to the index."""
    if FlowRunContext.get() is None:  # an all-cached batch runs no flow
        return
    table = batch_table(records, stage_seconds(futures), summary.get("gates_failed"))
    create_table_artifact(table, key=TABLE_KEY, description="music2dance synth: this batch")
    index = Path(summary["index"]).absolute()
    create_link_artifact(
        index.as_uri(), link_text=str(index), key=INDEX_KEY, description="the dataset index"
    )


def batch_state(summary: dict[str, Any]) -> dict[str, Any] | State:
    """The summary, or a Failed state that carries it when rows failed, so the run is not green."""
    if not summary["failed"]:
        return summary
    first = next(iter(summary["errors"].items()))
    message = (
        f"{summary['failed']} of {summary['rows']} rows failed (row {first[0]}: {first[1]}); "
        f"index: {summary['index']}"
    )
    return Failed(message=message, data=summary)
