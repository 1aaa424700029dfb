"""What the web page runs, without the page: checks on uploads, the model choices this server can
offer, one pipeline run at a time in a worker thread with per-stage progress, and the previews and
downloads derived from a finished run.

Everything written lives under the store: uploads in `STORE/webapp/uploads/`, derived previews and
downloads in `STORE/webapp/derived/<stage>-<key>/` (named by the artifact they come from, so a
cached run reuses them as well).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artifacts.files import atomic_path, write_atomic
from tasks.base import InputError

log = logging.getLogger("music2dance.webapp")

MAX_AUDIO_BYTES = 50 * 2**20
MAX_IMAGE_BYTES = 20 * 2**20
# Model choices that need weights: offered only when the server was started with that param set.
NEEDS_WEIGHTS = {("motion", "edge"): "checkpoint", ("animate", "magicanimate"): "weights"}


def webapp_dir(store_root: str | Path) -> Path:
    return Path(store_root).expanduser().resolve() / "webapp"


def upload_dir(store_root: str | Path) -> Path:
    return webapp_dir(store_root) / "uploads"


def derived_dir(store_root: str | Path) -> Path:
    return webapp_dir(store_root) / "derived"


def check_upload(path: str | Path | None, kind: str, max_bytes: int) -> Path:
    """An uploaded file that exists, is not empty and is within the size limit."""
    if not path:
        raise InputError(f"no {kind} uploaded: choose a {kind} file first")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the {kind} upload is gone: upload it again")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"the {kind} file {path.name} is empty: upload another file")
    if size > max_bytes:
        raise InputError(
            f"the {kind} file {path.name} is {size / 2**20:.1f} MiB, above the limit of "
            f"{max_bytes / 2**20:.0f} MiB: upload a smaller file"
        )
    return path


def model_choices(
    rules: Mapping[str, Mapping[str, Any]], params: Mapping[str, Mapping[str, Any]], stage: str
) -> list[str]:
    """The `stage.model` choices this server can run: weight-free ones, and those whose weights
    param is set in the server's params (`serve --set motion.checkpoint=...`)."""
    out = []
    for choice in rules[stage]["model"].choices or ():
        needed = NEEDS_WEIGHTS.get((stage, choice))
        if needed is None or params[stage].get(needed) is not None:
            out.append(choice)
    return out


def run_overrides(
    base: list[str], motion_model: str, animator: str, seed: int, resolution: int
) -> list[str]:
    """The page's choices as `--set` overrides after the server's own."""
    return [
        *base,
        f"motion.model={motion_model}",
        f"motion.seed={int(seed)}",
        f"animate.model={animator}",
        f"render.resolution={int(resolution)}",
        f"align.resolution={int(resolution)}",
    ]


@dataclass
class StageRow:
    name: str
    key: str
    status: str  # cached | waiting | running | done | failed
    seconds: float | None = None
    why: str = ""
    done_at: float = 0.0


@dataclass
class Job:
    """One run: the plan's rows, updated from the store by `poll` while the worker runs."""

    rows: list[StageRow]
    store_root: str
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    wall_seconds: float = 0.0
    report: dict[str, Any] | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self.thread is None or not self.thread.is_alive()

    def poll(self) -> None:
        """Stages whose artifact appeared are done; the first missing one is running. Seconds are
        wall time between appearances until the report gives each stage's own."""
        from artifacts.remote import open_store

        if self.report is not None:
            for row, stage in zip(self.rows, self.report["stages"], strict=True):
                row.status = "cached" if stage["cached"] else "done"
                row.seconds = stage["seconds"]
            return
        store, now, previous, running = (
            open_store(self.store_root),
            time.monotonic(),
            self.started,
            False,
        )
        for row in self.rows:
            if row.status == "cached":
                continue
            if row.status == "done" or store.has(row.name, row.key):
                if row.status != "done":
                    row.status, row.done_at, row.seconds = "done", now, now - previous
                previous = row.done_at
            elif self.error is not None:
                row.status = "failed" if row.status == "running" else row.status
            elif not running:
                row.status, row.seconds, running = "running", now - previous, True

    def headline(self) -> str:
        running = next((row for row in self.rows if row.status == "running"), None)
        if running is None:
            return "Starting ..."
        return f"Running {running.name} ... ({time.monotonic() - self.started:.0f} s so far)"

    def table(self) -> str:
        """The rows as a Markdown table."""
        lines = ["| stage | status | seconds | key | why it runs |", "|---|---|---|---|---|"]
        for row in self.rows:
            secs = "" if row.seconds is None else f"{row.seconds:.1f}"
            lines.append(f"| {row.name} | {row.status} | {secs} | `{row.key[:12]}` | {row.why} |")
        return "\n".join(lines)


class Runner:
    """Plans and runs one job at a time in a worker thread, in this process, on the CLI's store."""

    def __init__(self, store_root: str | Path, base_overrides: list[str] | None = None) -> None:
        self.store_root = str(Path(store_root).expanduser().resolve())
        self.base_overrides = list(base_overrides or [])
        self._lock = threading.Lock()

    def start(self, audio: Path, image: Path, overrides: list[str]) -> Job:
        """Plan (raises InputError on bad params or inputs), then run that plan in a worker
        thread."""
        from flows.plan import plan_run

        if not self._lock.acquire(blocking=False):
            raise InputError("another run is in progress: wait for it to finish")
        try:
            plan = plan_run(audio, image, overrides, self.store_root)
        except BaseException:
            self._lock.release()
            raise
        rows = [
            StageRow(
                e.planned.name,
                e.planned.key,
                "cached" if e.cached else "waiting",
                0.0 if e.cached else None,
                "" if e.cached else "; ".join(e.why),
            )
            for e in plan.entries
        ]
        job = Job(rows=rows, store_root=self.store_root, params=plan.params)
        job.thread = threading.Thread(target=self._work, args=(job, plan), daemon=True)
        job.thread.start()
        return job

    def _work(self, job: Job, plan: Any) -> None:
        from flows.execute import run_plan

        try:
            job.report = run_plan(plan)
            job.wall_seconds = time.monotonic() - job.started
        except InputError as err:
            job.error = str(err)
        except Exception as err:  # shown as one line in the page; the traceback goes to the log
            log.exception("run failed")
            job.error = f"the run failed ({type(err).__name__}: {str(err)[:300]}); see the log"
        finally:
            self._lock.release()


def _key_of(report: Mapping[str, Any], stage: str) -> str:
    return next(s["key"] for s in report["stages"] if s["name"] == stage)


def beats_plot(store_root: str, report: Mapping[str, Any]) -> Path:
    """PNG of the music beats over the motion's joint speed (motion beats marked)."""
    import io

    from artifacts.remote import open_store
    from tasks.evaluate.plots import beats_figure

    key = _key_of(report, "motion")
    out = derived_dir(store_root) / f"motion-{key}" / "beats.png"
    if not out.is_file():
        store = open_store(store_root)
        motion, audio = store.open("motion", key), store.open("audio", _key_of(report, "audio"))
        fps = float(motion.attrs["fps"])
        fig = beats_figure(
            np.asarray(motion["joints"][:]),
            np.asarray(audio["beats"][:]),
            fps,
            f"music beats vs motion ({motion.attrs.get('model', 'motion')})",
        )
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        write_atomic(out, buffer.getvalue())
    return out


def densepose_video(store_root: str, report: Mapping[str, Any], audio: Path, crf: int) -> Path:
    """The DensePose driving video (MagicAnimate colours) as an mp4 with the music."""
    from artifacts.remote import open_store
    from flows.export import write_driving_video

    key = _key_of(report, "densepose")
    out = derived_dir(store_root) / f"densepose-{key}" / "driving.mp4"
    if not out.is_file():
        group = open_store(store_root).open("densepose", key)
        write_driving_video("densepose", group, audio, out, crf)
    return out


def face_box_image(store_root: str, report: Mapping[str, Any]) -> Path:
    """The resized reference photo with the face box the dancer's head is aligned to (red) and
    the aligned driving video's first frame blended over it, so the fit can be judged."""
    import cv2
    from PIL import Image

    from artifacts.remote import open_store

    key = _key_of(report, "align")
    out = derived_dir(store_root) / f"align-{key}" / "face_box.png"
    if not out.is_file():
        group = open_store(store_root).open("align", key)
        image = np.asarray(group["reference"][:]).astype(np.float32)
        body = np.asarray(group["parts"][0]) > 0
        image[body] = 0.55 * image[body] + 0.45 * np.asarray(group["rgb"][0])[body]
        image = np.ascontiguousarray(image.round().astype(np.uint8))
        top, right, bottom, left = (int(v) for v in group.attrs["face_box"])
        thickness = max(1, round(max(image.shape[:2]) / 250))
        cv2.rectangle(image, (left, top), (right, bottom), (255, 30, 30), thickness)
        with atomic_path(out) as tmp:
            Image.fromarray(image).save(tmp)
    return out


def motion_files(store_root: str, report: Mapping[str, Any]) -> list[Path]:
    """The motion as npz, EDGE pkl and BVH."""
    from artifacts.remote import open_store
    from flows.export import MOTION_FORMATS
    from tasks.motion.export import motion_file

    key = _key_of(report, "motion")
    folder = derived_dir(store_root) / f"motion-{key}"
    group = open_store(store_root).open("motion", key)
    paths = []
    for fmt in MOTION_FORMATS:
        path = folder / f"motion.{fmt}"
        if not path.is_file():
            write_atomic(path, motion_file(group, fmt))
        paths.append(path)
    return paths


def report_file(store_root: str, report: Mapping[str, Any]) -> Path:
    """The run report JSON (stages, keys, cached, seconds) beside the animate previews."""
    key = _key_of(report, "animate")
    path = derived_dir(store_root) / f"animate-{key}" / "run.json"
    return write_atomic(path, json.dumps(report, indent=2).encode())
