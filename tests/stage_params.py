"""A stage's params as a run gets them: its section of params/defaults.yaml plus overrides, each
checked against the stage's rules, so stage tests never keep a second copy of a default."""

from __future__ import annotations

import importlib
from typing import Any

from params import load_defaults


def stage_params(stage: str, **overrides: Any) -> dict[str, Any]:
    rules = importlib.import_module(f"tasks.{stage}.task").SPEC.params
    values = load_defaults()[stage] | overrides
    return {key: rules[key].check(f"{stage}.{key}", value) for key, value in values.items()}
