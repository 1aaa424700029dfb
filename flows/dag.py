"""The stage DAG and the planner: every key is computed from params, input hashes and upstream
keys before any stage runs, so a fully cached run starts nothing."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artifacts.keys import file_sha256, key_ingredients, path_fingerprint, stage_key
from tasks.base import InputError, Param, StageSpec

if TYPE_CHECKING:  # the store's modules import zarr; the CLI names STAGE_ORDER before that
    from artifacts.materialize import PlannedStage
    from artifacts.store import ArtifactRef, Store

STAGE_ORDER = ("audio", "motion", "render", "densepose", "align", "animate")
_EXPLAIN_LIMIT = 64  # earlier artifacts compared when explaining a miss
OUTPUT = ("animate", "video.mp4")  # the stage and file a run delivers

log = logging.getLogger("music2dance")


@cache
def stage_specs() -> dict[str, StageSpec]:
    """name -> SPEC, in topological order (each stage's upstream comes before it)."""
    specs = {name: importlib.import_module(f"tasks.{name}.task").SPEC for name in STAGE_ORDER}
    for name, spec in specs.items():
        if spec.name != name:
            raise RuntimeError(f"tasks/{name}/task.py declares stage {spec.name!r}")
    return specs


def param_rules() -> dict[str, Mapping[str, Param]]:
    return {name: spec.params for name, spec in stage_specs().items()}


@dataclass
class PlanEntry:
    planned: PlannedStage
    cached: bool
    why: list[str] = field(default_factory=list)


def _existing_file(path: str | Path, kind: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{kind} file not found: {path} (check the path)")
    return path.resolve()


def make_plan(
    audio: str | Path,
    image: str | Path,
    params: Mapping[str, Mapping[str, Any]],
    store: Store,
    explain: bool = True,
) -> list[PlanEntry]:
    """Every stage's key and whether the store has it; with `explain`, why each miss missed."""
    from artifacts.materialize import PlannedStage

    raw = {"audio": _existing_file(audio, "audio"), "image": _existing_file(image, "image")}
    hashes = {kind: file_sha256(path) for kind, path in raw.items()}
    keys: dict[str, str] = {}
    plan = []
    for name, spec in stage_specs().items():
        own = spec.key_params(params[name])  # the other models' params stay out of the key
        ingredients = key_ingredients(
            stage=name,
            version=spec.version,
            params=own,
            input_hashes={kind: hashes[kind] for kind in spec.raw_inputs}
            | weight_fingerprints(name, spec, own),
            upstream_keys={up: keys[up] for up in spec.upstream},
        )
        keys[name] = stage_key(ingredients)
        planned = PlannedStage(
            name=name,
            key=keys[name],
            ingredients=ingredients,
            upstream={up: keys[up] for up in spec.upstream},
            audio_path=str(raw["audio"]) if "audio" in spec.raw_inputs else None,
            image_path=str(raw["image"]) if "image" in spec.raw_inputs else None,
        )
        cached = store.has(name, keys[name])
        reasons = explain_miss(store, ingredients) if explain and not cached else []
        plan.append(PlanEntry(planned, cached, reasons))
    return plan


def weight_fingerprints(stage: str, spec: StageSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """`stage.key` -> fingerprint for every path param among the key `params` that is set (null:
    the content digest of the file it stands for, if any); a missing path is an error."""
    out = {}
    for key, value in params.items():
        rule = spec.params[key]
        if rule.path and value is not None:
            path = Path(value).expanduser()
            if not path.exists():
                raise InputError(f"{stage}.{key}: {path} not found (check the path)")
            out[f"{stage}.{key}"] = path_fingerprint(path)
        elif rule.path and rule.bundled is not None:
            out[f"{stage}.{key}"] = file_sha256(rule.bundled)
    return out


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    stage = new["stage"]
    out = []
    if old.get("version") != new["version"]:
        out.append(f"code version {old.get('version')} -> {new['version']}")
    for kind, digest in new["inputs"].items():
        if old.get("inputs", {}).get(kind) != digest:
            out.append(f"input {kind} changed")
    for up, key in new["upstream"].items():
        if old.get("upstream", {}).get(up) != key:
            out.append(f"upstream {up} changed")
    old_params = old.get("params", {})
    for key in sorted(set(old_params) | set(new["params"])):
        if old_params.get(key) != new["params"].get(key):
            out.append(f"param {stage}.{key} {old_params.get(key)!r} -> {new['params'].get(key)!r}")
    return out


def _modified(path: Path | str) -> float:
    """A local artifact folder's mtime; remote listings carry none (0: listing order)."""
    return path.stat().st_mtime if isinstance(path, Path) else 0.0


def explain_miss(store: Store, ingredients: Mapping[str, Any]) -> list[str]:
    """Why a key is missing: the differences to the closest earlier artifact of the same stage.
    Closest is first one built on the same upstream keys (then what differs is this stage's
    own param, input or version, the change the user made), then the fewest differences."""
    stage = ingredients["stage"]
    records = sorted(store.records(stage), key=lambda rec: _modified(rec[2]), reverse=True)
    best: tuple[bool, int] | None = None
    reasons: list[str] = []
    for _, key, _ in records[:_EXPLAIN_LIMIT]:
        try:
            lineage = store.lineage(stage, key)
        except (OSError, ValueError, KeyError):  # a damaged copy: `cache verify` will evict it
            continue
        diffs = _differences(lineage, ingredients)
        rank = (lineage.get("upstream") != ingredients["upstream"], len(diffs))
        if best is None or rank < best:
            best, reasons = rank, diffs
    if best is None:
        return ["never computed in this store"]
    return reasons or ["earlier copy was evicted or never completed"]


def verify_reads(plan: list[PlanEntry], store: Store | Any) -> None:
    """Check the checksums of what this run will read from the store: the output file and every
    cached upstream of a stage to compute. A damaged artifact is evicted and becomes a stage to
    compute (one log line), which makes its own upstreams read; walking the plan backwards
    settles that in one pass. What nobody reads is not hashed, so a cached run stays cheap."""
    consumers: dict[str, list[PlanEntry]] = {e.planned.name: [] for e in plan}
    for entry in plan:
        for up in entry.planned.upstream:
            consumers[up].append(entry)
    for entry in reversed(plan):
        name, key = entry.planned.name, entry.planned.key
        if not entry.cached:
            continue
        if any(not c.cached for c in consumers[name]):
            reason = store.verify_one(name, key)
        elif name == OUTPUT[0]:  # only the output file leaves the store
            reason = store.verify_one(name, key, only=(OUTPUT[1],))
        else:
            continue
        if reason:
            log.warning("%-10s damaged  %s (%s): evicted, recomputing", name, key[:12], reason)
            store.evict(name, key)
            entry.cached = False
            entry.why = [f"damaged copy evicted ({reason})"]


def validate_inputs(plan: list[PlanEntry]) -> None:
    """Cheap checks of the raw inputs that the stages to run will read, before anything runs, so
    bad input fails fast and leaves the store untouched. The checks are memoised on the file
    for this process (tasks.audio.decode.load_audio, tasks.align.face.faces_in_file), so a
    stage that runs here reuses them: the audio is decoded once, the face detected once."""
    from tasks.align.face import validate_reference
    from tasks.audio.decode import PREFLIGHT_SAMPLE_RATE, validate_audio
    from tasks.audio.features import SAMPLE_RATE

    to_run = {e.planned.name: e.planned for e in plan if not e.cached}
    specs = stage_specs()
    for name, planned in to_run.items():
        specs[name].check_model(planned.ingredients["params"])
    if audio := next((p.audio_path for p in to_run.values() if p.audio_path), None):
        limits = next(e.planned.ingredients["params"] for e in plan if e.planned.name == "audio")
        validate_audio(
            Path(audio),
            min_seconds=limits["min_seconds"],
            max_seconds=limits["max_seconds"],
            sample_rate=SAMPLE_RATE if "audio" in to_run else PREFLIGHT_SAMPLE_RATE,
        )
    if image := next((p.image_path for p in to_run.values() if p.image_path), None):
        validate_reference(Path(image))


def report(refs: list[ArtifactRef], store: Store) -> dict[str, Any]:
    """The run report: where the output video is (None when the run stops before animate), the
    store, and each stage's key, whether it was cached and its seconds."""
    keys = {ref.stage: ref.key for ref in refs}
    output = OUTPUT[0] in keys and store.file_location(OUTPUT[0], keys[OUTPUT[0]], OUTPUT[1])
    return {
        "output": output or None,
        "store": str(store.root),
        "stages": [
            {"name": r.stage, "key": r.key, "cached": r.cached, "seconds": r.seconds} for r in refs
        ],
    }
