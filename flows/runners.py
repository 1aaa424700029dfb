"""Task runners for the batch flow, and a local Prefect server for runners that need one.

thread (default) runs stages in the flow's process; process, dask and ray run them in other
processes, which must all report to one real Prefect server (ephemeral mode would start one server
per worker process), so `needs_server(kind)` is true for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.prefect_env import prefect_env
from tasks.base import InputError

log = logging.getLogger("music2dance.runners")

RUNNERS = ("thread", "process", "dask", "ray")


def needs_server(kind: str) -> bool:
    return kind != "thread"


def make_task_runner(
    kind: str = "thread", dask_address: str | None = None, workers: int | None = None
) -> TaskRunner:
    """The Prefect task runner called `kind`; dask starts a LocalCluster of `workers` processes
    (one thread each: the stages are CPU-heavy numpy/numba) unless given a scheduler address."""
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise InputError(
                "--runner dask needs prefect-dask: pip install 'music2dance[scale]'"
            ) from None
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        cluster = {"n_workers": workers or 2, "processes": True, "threads_per_worker": 1}
        return DaskTaskRunner(cluster_kwargs=cluster | {"dashboard_address": None})
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError:
            raise InputError(
                "--runner ray needs prefect-ray: pip install 'music2dance[ray]'"
            ) from None
        return RayTaskRunner(address=dask_address) if dask_address else RayTaskRunner()
    raise InputError(f"unknown runner {kind!r} (choose one of {', '.join(RUNNERS)})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll `condition` until it returns something truthy (returned) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def local_server(home: Path, timeout: float = 90.0) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1 with its own home; yields the API URL and sets
    PREFECT_API_URL for this process while it lasts; the server is stopped by its PID."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with open(home / "server.log", "ab") as out:
        proc = subprocess.Popen(
            argv + ["--port", str(port)],
            env=prefect_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    old = os.environ.get("PREFECT_API_URL")
    try:
        wait_until(lambda: _healthy(url) or proc.poll() is not None, timeout, "the Prefect server")
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited; see {home / 'server.log'}")
        log.info("Prefect server at %s (pid %d)", url, proc.pid)
        # Settings are read once at import; children (dask workers) read the variable.
        os.environ["PREFECT_API_URL"] = url
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        _drain_prefect_services()
        if old is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old
        stop(proc)


def _drain_prefect_services(timeout: float = 30.0) -> None:
    """Flush and stop Prefect's process-wide client services (logs, events, concurrency slots)
    while their server still runs. They are singletons keyed by what they serve, not by the
    server, so a later flow in this process against another server would otherwise reach the
    stopped one (a second `synth` in the web app, a test session) and fail to connect."""
    from prefect._internal.concurrency.services import _QueueServiceBase

    _QueueServiceBase.drain_all(timeout=timeout, at_exit=False)


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate a child by PID (its process group when it leads one), then kill if it lingers."""
    if proc.poll() is not None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    signal_target = (lambda sig: os.killpg(pgid, sig)) if pgid == proc.pid else proc.send_signal
    signal_target(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_target(signal.SIGKILL)
        proc.wait(timeout)
