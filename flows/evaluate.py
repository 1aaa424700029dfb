"""Evaluation's one home: metrics, quality gates and plots for finished runs.

A run's `evaluate` group is cached in the store like any stage, keyed by the upstream keys it
measures and the evaluate params (`evaluate_run`); the metric functions themselves are the
evaluate stage's (tasks/evaluate). `evaluate_runs` measures one run report or a dataset index
(parquet or CSV with a `report` column, optional `clip` and `gt` columns), adds ground-truth and
set-level metrics, and writes flows.eval_report's files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artifacts.keys import key_ingredients, stage_key
from artifacts.materialize import PlannedStage
from flows.eval_report import (
    CSV_COLUMNS,
    finite,
    markdown_table,
    write_csv,
    write_metrics_json,
    write_plots,
)
from params import resolve_params
from tasks.base import InputError

LOG = logging.getLogger("music2dance")


def evaluation_params(overrides: Iterable[str] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """(evaluate params, gates) from params/defaults.yaml and `evaluate.K=V` / `gates.K=V`."""
    from tasks.evaluate.gates import GATE_RULES
    from tasks.evaluate.task import SPEC

    resolved = resolve_params({"evaluate": SPEC.params, "gates": GATE_RULES}, overrides)
    return resolved["evaluate"], resolved["gates"]


def evaluate_run(keys: Mapping[str, str], params: Mapping[str, Any], store_root: str) -> Any:
    """The run's `evaluate` group: metrics are cached in the store like any stage, keyed by the
    upstream keys they measure and the evaluate params."""
    from artifacts.materialize import materialize
    from artifacts.remote import open_store
    from tasks.evaluate.task import SPEC

    if missing := [s for s in ("audio", "motion") if s not in keys]:
        raise InputError(f"the run lacks the {', '.join(missing)} stage(s) needed to evaluate it")
    upstream = {name: keys[name] for name in SPEC.upstream if name in keys}
    ingredients = key_ingredients("evaluate", SPEC.version, params, {}, upstream)
    planned = PlannedStage("evaluate", stage_key(ingredients), ingredients, upstream)
    ref = materialize(SPEC, planned, store_root)
    return open_store(store_root).open("evaluate", ref.key)


@dataclass
class Clip:
    """One run to evaluate: its report path, name and optional ground-truth video."""

    name: str
    report: Path
    gt: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    i3d: tuple[np.ndarray, np.ndarray] | None = None  # FVD features (generated, truth)
    r3d: tuple[np.ndarray, np.ndarray] | None = None  # FID-VID video vectors (generated, truth)


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB frames of a video, decoded one at a time by the bundled ffmpeg."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    for raw in reader:
        yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def read_clips(source: Path, gt: Path | None) -> list[Clip]:
    """A run report -> one clip; a dataset index (.parquet/.csv, `report` column) -> its rows."""
    if not source.is_file():
        raise InputError(f"not found: {source} (pass a run report JSON or a dataset index)")
    if source.suffix == ".json":
        return [Clip(source.stem, source, gt)]
    if gt is not None:
        raise InputError("--gt applies to one run report; put a `gt` column in the dataset index")
    import pandas as pd

    if source.suffix == ".parquet":
        index = pd.read_parquet(source)
    elif source.suffix == ".csv":
        index = pd.read_csv(source)
    else:
        raise InputError(f"{source}: expected a run report .json or a dataset index .parquet/.csv")
    if "report" not in index.columns:
        raise InputError(f"{source}: the dataset index needs a `report` column of report paths")
    clips, seen = [], set()
    for i, row in enumerate(index.to_dict("records")):
        report = source.parent / str(row["report"])
        name = str(row.get("clip") or report.stem)
        name = f"{i:04d}_{name}" if name in seen else name
        seen.add(name)
        row_gt = row.get("gt")
        has_gt = isinstance(row_gt, str) and row_gt
        clips.append(Clip(name, report, source.parent / row_gt if has_gt else None))
    return clips


def open_run(report_path: Path, default_store: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report, {stage: zarr group}) for a run report; the store comes from the report."""
    from artifacts.remote import open_store

    if not report_path.is_file():
        raise InputError(f"run report not found: {report_path}")
    report = json.loads(report_path.read_text())
    if "stages" not in report:
        raise InputError(f"{report_path}: not a run report (no `stages`); use run --report")
    store = open_store(report.get("store") or default_store)
    groups = {}
    for stage in report["stages"]:
        if not store.has(stage["name"], stage["key"]):
            raise InputError(
                f"{report_path}: {stage['name']} {stage['key'][:12]} is not in {store.root} "
                "(pass --store, or re-run the clip)"
            )
        groups[stage["name"]] = store.open(stage["name"], stage["key"])
    return report, groups


def evaluate_clip(
    clip: Clip,
    out: Path,
    params: Mapping[str, Any],
    gates: Mapping[str, Any],
    default_store: str,
    networks: Mapping[str, Any],
) -> tuple[dict[str, Any], Any]:
    """One CSV row for `clip` and its evaluate group; writes the clip's plots. With a
    ground-truth video: PSNR, SSIM, and LPIPS / FVD where `networks` holds their models."""
    from tasks.evaluate.gates import evaluate_gates
    from tasks.evaluate.video import fidelity_per_frame

    report, groups = open_run(clip.report, default_store)
    folder = out / clip.name
    folder.mkdir(parents=True, exist_ok=True)
    keys = {s["name"]: s["key"] for s in report["stages"]}
    evaluated = evaluate_run(keys, params, report.get("store") or default_store)
    metrics = {k: finite(v) for k, v in dict(evaluated.attrs["metrics"]).items()}
    metrics |= {"psnr": None, "ssim": None, "lpips": None, "fid_vid": None, "fvd": None}
    if clip.gt is not None:
        if not clip.gt.is_file():
            raise InputError(f"ground-truth video not found: {clip.gt}")
        video = Path(report["output"])
        psnr, ssim = fidelity_per_frame(video_frames(video), video_frames(clip.gt))
        metrics |= {"psnr": finite(np.mean(psnr)), "ssim": finite(np.mean(ssim))}
        metrics |= network_metrics(clip, video, networks)
    failed = evaluate_gates(metrics, gates)
    models = [groups[s].attrs.get("model", "?") for s in ("motion", "animate") if s in groups]
    write_plots(groups, folder, clip.name)
    row = {c: metrics.get(c) for c in CSV_COLUMNS}
    row |= {
        "clip": clip.name,
        "method": "+".join(models),
        "gates_failed": ";".join(failed),
        "passed": not failed,
        "report": str(clip.report),
    }
    return row, evaluated


def network_metrics(clip: Clip, video: Path, networks: Mapping[str, Any]) -> dict[str, Any]:
    """LPIPS (mean over frames) and FVD (over the clip's 16-frame clips) against the truth;
    the I3D and 3D-ResNet features are kept on `clip` for the set-level FVD and FID-VID."""
    out: dict[str, Any] = {}
    if "lpips" in networks:
        from tasks.evaluate.lpips import lpips_per_frame

        scores = lpips_per_frame(networks["lpips"], video_frames(video), video_frames(clip.gt))
        out["lpips"] = finite(np.mean(scores)) if len(scores) else None
    if "fvd" in networks:
        from tasks.evaluate.fvd import features, fvd

        clip.i3d = (features(networks["fvd"], video_frames(video)),
                    features(networks["fvd"], video_frames(clip.gt)))  # fmt: skip
        out["fvd"] = finite(fvd(*clip.i3d))
    if "fid_vid" in networks:  # one vector per video: FID-VID exists for a set only
        from tasks.evaluate.resnet3d import video_feature

        model = networks["fid_vid"]
        clip.r3d = (video_feature(model, video_frames(video)),
                    video_feature(model, video_frames(clip.gt)))  # fmt: skip
    return out


def set_metrics(
    evaluated: list[Any], reference: list[np.ndarray] | None, fps: float
) -> dict[str, float | None]:
    """Diversity (>= 2 clips) and FID_k / FID_g against a reference set, Bailando-normalised."""
    from tasks.evaluate.motion import (
        diversity,
        frechet_distance,
        geometric_features,
        kinetic_features,
        normalize_by_reference,
        root_relative,
    )

    if len(evaluated) < 2:
        if reference is not None:
            LOG.warning("FID_k / FID_g need at least 2 generated clips; skipped")
        return {}
    gen_k = np.stack([np.asarray(g["kinetic"]) for g in evaluated]).astype(np.float64)
    gen_g = np.stack([np.asarray(g["geometric"]) for g in evaluated]).astype(np.float64)
    if reference is None:
        return {"Div_k": diversity(gen_k), "Div_g": diversity(gen_g)}
    ref_k = np.stack([kinetic_features(root_relative(j), fps) for j in reference]).astype(float)
    ref_g = np.stack([geometric_features(root_relative(j)) for j in reference]).astype(float)
    ref_k, gen_k = normalize_by_reference(ref_k, gen_k)
    ref_g, gen_g = normalize_by_reference(ref_g, gen_g)
    return {
        "FID_k": frechet_distance(gen_k, ref_k),
        "FID_g": frechet_distance(gen_g, ref_g),
        "Div_k": diversity(gen_k),
        "Div_g": diversity(gen_g),
    }


def set_video_metrics(clips: list[Clip]) -> dict[str, float | None]:
    """The report's dataset-level numbers: FVD over every clip's 16-frame clips pooled, FID-VID
    over one 3D-ResNet vector per video (DisCo); each needs >= 2 clips with ground truth."""
    from tasks.evaluate.fvd import fvd

    out: dict[str, float | None] = {}
    i3d = [c.i3d for c in clips if c.i3d is not None and len(c.i3d[0]) and len(c.i3d[1])]
    if len(clips) >= 2 and i3d:
        generated, truth = (np.concatenate(side) for side in zip(*i3d, strict=True))
        out["FVD"] = fvd(generated, truth)
    r3d = [c.r3d for c in clips if c.r3d is not None]
    if len(r3d) >= 2:
        generated, truth = (np.stack(side) for side in zip(*r3d, strict=True))
        out["FID-VID"] = fvd(generated, truth)
    return out


def load_networks(weights: Mapping[str, str | None], clips: list[Clip]) -> dict[str, Any]:
    """metric -> network for each metric given weights; they need ground truth to compare."""
    from tasks.evaluate.networks import load_metric_network

    networks = {m: load_metric_network(m, path) for m, path in weights.items() if path is not None}
    if networks and all(c.gt is None for c in clips):
        raise InputError(
            f"{', '.join(networks)} compare with ground truth: pass --gt VIDEO "
            "(or a `gt` column in the dataset index)"
        )
    return networks


def evaluate_runs(
    source: Path,
    out: Path,
    store: str,
    overrides: Iterable[str] = (),
    gt: Path | None = None,
    weights: Mapping[str, str | None] | None = None,
    reference_motions: Path | None = None,
) -> list[dict[str, Any]]:
    """Measure every clip of `source` (a run report or a dataset index; `store` where a report
    names none) and write metrics.csv, metrics.json, metrics.md and plots under `out`; returns
    the CSV rows (`passed`, `gates_failed` per clip).

    `overrides`: evaluate.* / gates.*; `gt`: the ground-truth video of a single run (PSNR, SSIM);
    `weights`: metric -> weights path for LPIPS, FVD and FID-VID; `reference_motions`: a folder
    of AIST++/EDGE motions for FID_k and FID_g.
    """
    from tasks.evaluate.reference import load_reference_set

    params, gates = evaluation_params(overrides)
    out.mkdir(parents=True, exist_ok=True)
    clips = read_clips(source, gt)
    networks = load_networks(weights or {}, clips)
    reference = load_reference_set(reference_motions) if reference_motions else None
    rows, evaluated = [], []
    for clip in clips:
        row, group = evaluate_clip(clip, out, params, gates, store, networks)
        rows.append(row)
        evaluated.append(group)
        LOG.info("eval %s: %s", clip.name, row["gates_failed"] or "pass")
    write_csv(rows, out / "metrics.csv")
    fps = float(evaluated[0].attrs["fps"])
    summary = set_metrics(evaluated, reference, fps) | set_video_metrics(clips)
    write_metrics_json(rows, summary, out / "metrics.json")
    (out / "metrics.md").write_text(markdown_table(rows, summary))
    return rows
