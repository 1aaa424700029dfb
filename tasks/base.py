"""The stage contract every `tasks/<stage>/task.py` implements.

A stage is a pure `compute(ctx)` that reads its upstream Zarr groups and raw input files and writes
its own arrays into `ctx.out`. Everything around it (keys, caching, atomic publish, lineage,
Prefect) lives in `artifacts/` and `flows/`, so a stage never touches the store layout.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # zarr costs ~0.3 s to import: the CLI's first line comes before it
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
class Package:
    """An optional Python package a model imports, and the command that installs it."""

    module: str
    install: str


@dataclass(frozen=True)
class Weights:
    """Files a model loads from the path in param `param` (or the param's env variable)."""

    param: str
    what: str  # what the files are, for the error message
    contents: tuple[str, ...] = ()  # paths that must exist inside the folder
    optional: bool = False  # null is allowed (the model runs without them); checked when set
    packages: tuple[Package, ...] = ()  # what loading them imports


@dataclass(frozen=True)
class Model:
    """One model of a stage, as data: the params only it reads (the stage's key covers them only
    while it is the chosen model) and the weights it loads."""

    params: tuple[str, ...] = ()
    weights: tuple[Weights, ...] = ()


@dataclass(frozen=True)
class StageSpec:
    """Identity of a stage: bump `version` whenever the meaning of its output changes.

    `params` holds every param's rule; those no entry of `models` claims are read by every model.
    `models` maps each choice of param `model_param` to the params and weights of that model.
    """

    name: str
    version: int
    upstream: tuple[str, ...]
    raw_inputs: tuple[str, ...]
    params: Mapping[str, Param]
    compute: Callable[[StageContext], None]
    models: Mapping[str, Model] = field(default_factory=dict)
    model_param: str = "model"

    def __post_init__(self) -> None:
        for name, model in self.models.items():
            claimed = [w.param for w in model.weights] + list(model.params)
            if unknown := [p for p in claimed if p not in self.params]:
                raise ValueError(f"stage {self.name} model {name} names unknown params {unknown}")

    def key_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The params the chosen model runs on: the shared ones and its own. Params of the
        other models stay out of the key, so changing them reuses the cached output."""
        chosen = self.models.get(params.get(self.model_param), Model())
        others = {p for model in self.models.values() for p in model.params}
        return {k: v for k, v in params.items() if k not in others or k in chosen.params}

    def check_model(self, params: Mapping[str, Any]) -> None:
        """The chosen model's weights and packages are there: one InputError naming the param
        (and its env variable) to set, before anything runs."""
        choice = params.get(self.model_param)
        model = f"{self.name}.{self.model_param}={choice}"
        weights = self.models.get(choice, Model()).weights
        for w in weights:  # every path first: the files are the usual miss
            self._check_path(model, w, params.get(w.param))
        for w in weights:
            for package in w.packages if params.get(w.param) is not None else ():
                if importlib.util.find_spec(package.module) is None:
                    raise InputError(f"{model} imports {package.module}: {package.install}")

    def _check_path(self, model: str, weights: Weights, value: Any) -> None:
        if value is None:
            if weights.optional:
                return
            env = self.params[weights.param].env
            raise InputError(
                f"{model} needs {weights.what}: --set {self.name}.{weights.param}=PATH"
                + (f" or ${env}" if env else "")
                + self._weight_free_hint()
            )
        folder = Path(value).expanduser()
        if not folder.exists():
            raise InputError(f"{model} needs {weights.what}: {folder} does not exist")
        if missing := [c for c in weights.contents if not (folder / c).exists()]:
            raise InputError(
                f"{model} needs {weights.what}: {self.name}.{weights.param}={folder} lacks "
                + ", ".join(missing)
            )

    def _weight_free_hint(self) -> str:
        free = [name for name, m in self.models.items() if all(w.optional for w in m.weights)]
        return f" (or {self.name}.{self.model_param}={free[0]}, which needs none)" if free else ""
