"""Run settings: params/defaults.yaml (read by the flows and dvc.yaml) plus `--set` overrides.

Validation rules live with the stage that reads the param (`SPEC.params`); this module only merges
and checks that every override names a known `stage.key`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tasks.base import InputError, Param

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")


def load_defaults(path: Path = DEFAULTS_PATH) -> dict[str, dict[str, Any]]:
    with open(path) as f:
        return yaml.safe_load(f)


def parse_override(text: str) -> tuple[str, str, Any]:
    """`stage.key=value` -> (stage, key, value); the value parses as YAML (1, 0.5, true, null)."""
    name, sep, raw = text.partition("=")
    stage, dot, key = name.strip().partition(".")
    if not sep or not dot or not stage or not key:
        raise InputError(f"--set {text!r}: write it as stage.key=value, e.g. motion.seed=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise InputError(f"--set {text!r}: the value is not valid YAML ({err.problem})") from None
    return stage, key, value


def resolve_params(
    rules: Mapping[str, Mapping[str, Param]],
    overrides: Iterable[str] = (),
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Defaults + overrides, each checked against its stage's rule; unknown keys are errors."""
    params = copy.deepcopy(dict(defaults if defaults is not None else load_defaults()))
    for text in overrides:
        stage, key, value = parse_override(text)
        if stage not in rules:
            raise InputError(
                f"--set {text!r}: unknown stage {stage!r} (stages: {', '.join(rules)})"
            )
        if key not in rules[stage]:
            known = ", ".join(sorted(rules[stage]))
            raise InputError(f"--set {text!r}: unknown key {stage}.{key} (known: {known})")
        params.setdefault(stage, {})[key] = value
    for stage, stage_rules in rules.items():
        section = params.setdefault(stage, {})
        for key, rule in stage_rules.items():
            if key not in section:
                raise InputError(f"params/defaults.yaml lacks {stage}.{key}: add a default")
            if section[key] is None and rule.env and os.environ.get(rule.env):
                section[key] = os.environ[rule.env]
            section[key] = rule.check(f"{stage}.{key}", section[key])
    return params
