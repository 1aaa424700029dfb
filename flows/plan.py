"""One planning path for every command: `plan_run` resolves the params, keys every stage, checks
what the run will read from the store and checks the inputs of what it will compute, once.

`music2dance run|plan|stage|export`, the web app and the Prefect flows all start here and then
hand the plan on (`flows.execute.run_plan`), so no input is decoded or checked twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifacts.materialize import PlannedStage
from artifacts.remote import RemoteStore, open_store
from artifacts.store import Store
from flows.dag import PlanEntry, make_plan, param_rules, validate_inputs, verify_reads
from params import resolve_params
from tasks.base import InputError


@dataclass
class RunPlan:
    """Every stage's key, whether the store has it and why not, for one clip and one store."""

    entries: list[PlanEntry]
    store: Store | RemoteStore
    params: dict[str, dict[str, Any]]

    @property
    def root(self) -> str:
        """The store root as text every process can open (a local absolute path or a URL)."""
        return str(self.store.root)

    @property
    def stages(self) -> list[PlannedStage]:
        return [entry.planned for entry in self.entries]

    @property
    def cached(self) -> bool:
        return all(entry.cached for entry in self.entries)

    def keys(self) -> dict[str, str]:
        return {entry.planned.name: entry.planned.key for entry in self.entries}

    def upto(self, target: str) -> RunPlan:
        """The plan of `target` and the stages it needs, in plan order."""
        by_name = {entry.planned.name: entry for entry in self.entries}
        if target not in by_name:
            raise InputError(f"unknown stage {target!r} (stages: {', '.join(by_name)})")
        needed, todo = set(), [target]
        while todo:
            name = todo.pop()
            needed.add(name)
            todo += [up for up in by_name[name].planned.upstream if up not in needed]
        entries = [entry for entry in self.entries if entry.planned.name in needed]
        return RunPlan(entries, self.store, self.params)


def plan_run(
    audio: str | Path,
    image: str | Path,
    overrides: Iterable[str],
    store: str | Path,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    target: str | None = None,
    explain: bool = True,
    check: bool = True,
    validate: Callable[[list[PlanEntry]], None] = validate_inputs,
) -> RunPlan:
    """The plan of one clip; `target`: only that stage and its upstream.

    1. params: params/defaults.yaml (or `defaults`) + `stage.key=value` overrides, checked.
    2. keys: every stage's key from params, input hashes, weights and upstream keys; with
       `explain`, why each missing stage misses.
    3. with `check`: the checksums of what the run will read (a damaged copy is evicted and
       becomes a stage to run), then the params and raw inputs of the stages to run (decode the
       audio, find the face) with `validate`, so bad input fails here and leaves the store
       untouched.
    """
    params = resolve_params(param_rules(), overrides, defaults)
    opened = open_store(store)
    plan = RunPlan(make_plan(audio, image, params, opened, explain=explain), opened, params)
    if target is not None:
        plan = plan.upto(target)
    if check:
        verify_reads(plan.entries, opened)
        validate(plan.entries)
    return plan
