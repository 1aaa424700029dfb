"""The Prefect settings every process of ours runs with, written once: no telemetry or server
analytics, and a patient start for a temporary server (on two shared cores it can take 30 s).
Imports no Prefect: Prefect reads its settings when imported, so they are applied before."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

SETTINGS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def apply_prefect_settings(env: MutableMapping[str, str]) -> None:
    """Our settings into `env` (os.environ or a child's copy) where the user exported none."""
    for key, value in SETTINGS.items():
        env.setdefault(key, value)


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """Environment for a Prefect child process: our settings, a private home (SQLite db) and
    `api_url` (None: no server named, the child starts its own)."""
    env = dict(os.environ, PREFECT_HOME=str(home))
    apply_prefect_settings(env)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    else:
        env.pop("PREFECT_API_URL", None)
    return env
