"""The stage contract every `tasks/<stage>/task.py` implements.

A stage is a pure `compute(ctx)` that reads its upstream Zarr groups and raw input files and writes
its own arrays into `ctx.out`. Everything around it (keys, caching, atomic publish, lineage,
Prefect) lives in `artifacts/` and `flows/`, so a stage never touches the store layout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zarr


class InputError(ValueError):
    """Bad user input (file, image, audio or param): the message names the problem and the fix."""


@dataclass(frozen=True)
class Param:
    """Validation rule for one `stage.key` param; defaults live in params/defaults.yaml."""

    kind: type | tuple[type, ...]
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    help: str = ""
    # A path to weights or model files: the planner adds a fingerprint of what it points to to the
    # key, so replacing the file at the same path recomputes. `env` names a fallback variable.
    path: bool = False
    env: str | None = None
    # The file a null path param stands for (e.g. a bundled library): its content digest joins
    # the key, so rebuilding that file recomputes.
    bundled: Path | None = None

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise InputError(f"param {name} must not be empty")
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = "/".join(k.__name__ for k in kinds)
            raise InputError(f"param {name}={value!r} must be of type {names}")
        if self.choices is not None and value not in self.choices:
            raise InputError(f"param {name}={value!r} must be one of {list(self.choices)}")
        if self.min is not None and value < self.min:
            raise InputError(f"param {name}={value!r} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise InputError(f"param {name}={value!r} is above the maximum {self.max}")
        return value


@dataclass
class StageContext:
    """What `compute` may read and write: read-only upstream groups, a staging group `out`."""

    params: Mapping[str, Any]
    upstream: Mapping[str, zarr.Group]
    out: zarr.Group
    workdir: Path
    audio_path: Path | None = None
    image_path: Path | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("music2dance"))


@dataclass(frozen=True)
class StageSpec:
    """Identity of a stage: bump `version` whenever the meaning of its output changes."""

    name: str
    version: int
    upstream: tuple[str, ...]
    raw_inputs: tuple[str, ...]
    params: Mapping[str, Param]
    compute: Callable[[StageContext], None]
    # Cheap checks of this stage's params that must pass before anything runs (e.g. a model that
    # needs weights was chosen without them); raises InputError.
    check: Callable[[Mapping[str, Any]], None] | None = None
