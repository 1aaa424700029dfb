"""`music2dance eval`: metrics, quality gates and plots for finished runs.

Input is one run report (`music2dance run --report R.json`) or a dataset index (parquet or CSV
with a `report` column, optional `clip` and `gt` columns). Output, under --out DIR: metrics.csv
(one row per clip), metrics.json (the same numbers for `dvc metrics`), metrics.md (the report's
table layout) and <clip>/beats.png, contact_sheet.png.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tasks.base import InputError

LOG = logging.getLogger("music2dance")
SHEET_FRAMES = 8
TABLE = (  # (column, metric, format): the report's layout, then our motion and identity numbers
    ("PSNR↑", "psnr", "{:.2f}"),
    ("SSIM↑", "ssim", "{:.3f}"),
    ("LPIPS↓", "lpips", "{:.3f}"),
    ("FID-VID↓", "fid_vid", "{:.2f}"),
    ("FVD↓", "fvd", "{:.2f}"),
    ("BAS↑", "bas", "{:.4f}"),
    ("PFC↓", "pfc", "{:.4f}"),
    ("identity↓", "identity", "{:.3f}"),
    ("coverage↑", "coverage", "{:.3f}"),
    ("leftovers↓", "leftovers", "{:.4f}"),
    ("fragments↓", "fragments", "{:.2f}"),
    ("fill↑", "fill_quality", "{:.2f}"),
)
CSV_COLUMNS = (
    "clip", "method", "psnr", "ssim", "lpips", "fid_vid", "fvd", "bas", "pfc", "identity",
    "identity_missing", "foot_skating", "jerk", "coverage", "leftovers", "fragments",
    "fill_quality", "background_change", "gates_failed", "passed", "report",
)  # fmt: skip
WEIGHT_OPTIONS = {"lpips": "lpips_weights", "fid_vid": "fid_vid_weights", "fvd": "fvd_weights"}


@dataclass
class Clip:
    """One run to evaluate: its report path, name and optional ground-truth video."""

    name: str
    report: Path
    gt: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    i3d: tuple[np.ndarray, np.ndarray] | None = None  # FVD features (generated, truth)
    r3d: tuple[np.ndarray, np.ndarray] | None = None  # FID-VID video vectors (generated, truth)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB frames of a video, decoded one at a time by the bundled ffmpeg."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    for raw in reader:
        yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


# -- inputs ------------------------------------------------------------------------------------
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
    from artifacts.store import Store

    if not report_path.is_file():
        raise InputError(f"run report not found: {report_path}")
    report = json.loads(report_path.read_text())
    if "stages" not in report:
        raise InputError(f"{report_path}: not a run report (no `stages`); use run --report")
    store = Store(report.get("store") or default_store)
    groups = {}
    for stage in report["stages"]:
        if not store.has(stage["name"], stage["key"]):
            raise InputError(
                f"{report_path}: {stage['name']} {stage['key'][:12]} is not in {store.root} "
                "(pass --store, or re-run the clip)"
            )
        groups[stage["name"]] = store.open(stage["name"], stage["key"])
    return report, groups


# -- one clip ----------------------------------------------------------------------------------
def body_checks(groups: Mapping[str, Any], indices: np.ndarray) -> tuple[Any, list, list]:
    """(the photo's PhotoBody, frames, tasks.evaluate.body checks) of the animated frames at
    `indices`, each frame resized to the aligned photo as the evaluate stage measures it."""
    from tasks.evaluate.body import check_frame, read_photo
    from tasks.evaluate.segment import PersonSegmenter
    from tasks.evaluate.video import match_size

    parts, frames = groups["align"]["parts"], groups["animate"]["frames"]
    with PersonSegmenter() as segment:
        photo = read_photo(np.asarray(groups["align"]["reference"]), np.asarray(parts[0]), segment)
        sheet = [match_size(np.asarray(frames[i]), parts.shape[1:]) for i in indices]
        checks = [
            check_frame(f, segment.near(f, p > 0).mask, p, photo)
            for f, p in zip(sheet, (np.asarray(parts[i]) for i in indices), strict=True)
        ]
    return photo, sheet, checks


def write_plots(groups: Mapping[str, Any], folder: Path, title: str) -> list[Path]:
    """beats.png (music vs motion beats) and, when the run has frames, contact_sheet.png: the
    reference and SHEET_FRAMES frames across the clip, each beside what the body metrics saw."""
    from tasks.evaluate.plots import beats_figure, contact_sheet_figure

    motion = groups["motion"]
    fps = float(motion.attrs["fps"])
    joints = np.asarray(motion["joints"], dtype=np.float64)
    beats = np.asarray(groups["audio"]["beats"], dtype=np.float64)
    paths = [folder / "beats.png"]
    beats_figure(joints, beats, fps, title).savefig(paths[0])
    if "animate" in groups and "align" in groups:
        count = groups["animate"]["frames"].shape[0]
        idx = np.linspace(0, count - 1, min(SHEET_FRAMES, count)).astype(int)
        photo, sheet, checks = body_checks(groups, idx)
        reference = np.asarray(groups["align"]["reference"])
        paths.append(folder / "contact_sheet.png")
        figure = contact_sheet_figure(reference, photo, sheet, checks, idx.tolist(), fps)
        figure.savefig(paths[1])
    return paths


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
    from flows.dag import evaluate_run
    from tasks.evaluate.gates import evaluate_gates
    from tasks.evaluate.video import fidelity_per_frame

    report, groups = open_run(clip.report, default_store)
    folder = out / clip.name
    folder.mkdir(parents=True, exist_ok=True)
    keys = {s["name"]: s["key"] for s in report["stages"]}
    evaluated = evaluate_run(keys, params, report.get("store") or default_store)
    metrics = {k: _finite(v) for k, v in dict(evaluated.attrs["metrics"]).items()}
    metrics |= {"psnr": None, "ssim": None, "lpips": None, "fid_vid": None, "fvd": None}
    if clip.gt is not None:
        if not clip.gt.is_file():
            raise InputError(f"ground-truth video not found: {clip.gt}")
        video = Path(report["output"])
        psnr, ssim = fidelity_per_frame(video_frames(video), video_frames(clip.gt))
        metrics |= {"psnr": _finite(np.mean(psnr)), "ssim": _finite(np.mean(ssim))}
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
        out["lpips"] = _finite(np.mean(scores)) if len(scores) else None
    if "fvd" in networks:
        from tasks.evaluate.fvd import features, fvd

        clip.i3d = (features(networks["fvd"], video_frames(video)),
                    features(networks["fvd"], video_frames(clip.gt)))  # fmt: skip
        out["fvd"] = _finite(fvd(*clip.i3d))
    if "fid_vid" in networks:  # one vector per video: FID-VID exists for a set only
        from tasks.evaluate.resnet3d import video_feature

        model = networks["fid_vid"]
        clip.r3d = (video_feature(model, video_frames(video)),
                    video_feature(model, video_frames(clip.gt)))  # fmt: skip
    return out


# -- tables ------------------------------------------------------------------------------------
def _cell(value: Any, fmt: str) -> str:
    value = _finite(value) if isinstance(value, float | int | np.floating) else value
    return "n/a" if value is None else fmt.format(value)


def markdown_table(rows: list[dict[str, Any]], set_metrics: Mapping[str, float | None]) -> str:
    """Per-clip rows in the report's layout (Method | PSNR | SSIM | FID-VID | FVD | ...)."""
    head = ["Method", *(c for c, _, _ in TABLE), "gates"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"{row['clip']} ({row['method']})"]
        cells += [_cell(row.get(m), fmt) for _, m, fmt in TABLE]
        cells.append(row["gates_failed"] or "pass")
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > 1:
        cells = ["mean"]
        for _, m, fmt in TABLE:
            values = [v for r in rows if (v := _finite(r.get(m))) is not None]
            cells.append(_cell(float(np.mean(values)) if values else None, fmt))
        passed = sum(bool(r["passed"]) for r in rows)
        lines.append("| " + " | ".join([*cells, f"{passed}/{len(rows)} pass"]) + " |")
    if set_metrics:
        names = list(set_metrics)
        lines += ["", "| Set | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        lines.append(
            "| generated | " + " | ".join(_cell(set_metrics[n], "{:.3f}") for n in names) + " |"
        )
    return "\n".join(lines) + "\n"


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


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    import pandas as pd

    pd.DataFrame(rows, columns=list(CSV_COLUMNS)).to_csv(path, index=False)


def write_metrics_json(
    rows: list[dict[str, Any]], set_summary: Mapping[str, float | None], path: Path
) -> None:
    """The numbers as a DVC metrics file: one clip flat (`dvc metrics show` lists bas, pfc ...),
    several keyed by clip with the set's numbers under `set`; metrics not measured are left out."""

    def numbers(values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: v if isinstance(v, bool) else _finite(v)
            for k, v in values.items()
            if isinstance(v, bool | int | float) and _finite(v) is not None
        }

    if len(rows) == 1:
        doc = numbers(rows[0])
    else:
        doc = {row["clip"]: numbers(row) for row in rows} | {"set": numbers(set_summary)}
    path.write_text(json.dumps(doc, indent=2) + "\n")


# -- command -----------------------------------------------------------------------------------
def handler(args: argparse.Namespace) -> int:
    """Evaluate every clip; exit 1 when any clip misses a gate (the CSV says which)."""
    from flows.dag import evaluation_params
    from tasks.evaluate.networks import load_metric_network
    from tasks.evaluate.reference import load_reference_set

    params, gates = evaluation_params(args.set)
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    clips = read_clips(Path(args.source).expanduser(), Path(args.gt) if args.gt else None)
    networks = {
        metric: load_metric_network(metric, getattr(args, option))
        for metric, option in WEIGHT_OPTIONS.items()
        if getattr(args, option) is not None
    }
    if networks and all(c.gt is None for c in clips):
        raise InputError(
            f"{', '.join(networks)} compare with ground truth: pass --gt VIDEO "
            "(or a `gt` column in the dataset index)"
        )
    reference = load_reference_set(Path(args.reference_motions)) if args.reference_motions else None
    rows, evaluated = [], []
    for clip in clips:
        row, group = evaluate_clip(clip, out, params, gates, args.store, networks)
        rows.append(row)
        evaluated.append(group)
        LOG.info("eval %s: %s", clip.name, row["gates_failed"] or "pass")
    fps = float(evaluated[0].attrs["fps"])
    write_csv(rows, out / "metrics.csv")
    summary = set_metrics(evaluated, reference, fps) | set_video_metrics(clips)
    write_metrics_json(rows, summary, out / "metrics.json")
    (out / "metrics.md").write_text(markdown_table(rows, summary))
    sys.stdout.write((out / "metrics.md").read_text())
    return 0 if args.exit_zero or all(r["passed"] for r in rows) else 1


def register(subparsers: Any) -> None:
    """Add `eval` to the music2dance CLI."""
    from tasks.evaluate.networks import NETWORK_METRICS

    p = subparsers.add_parser("eval", help="metrics, quality gates and plots for finished runs")
    p.add_argument("source", help="run report JSON (run --report) or dataset index parquet/CSV")
    p.add_argument(
        "--out", required=True, help="folder for metrics.csv, metrics.json, metrics.md and plots"
    )
    p.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 when a clip misses a gate (the metrics say which), e.g. in a DVC stage",
    )
    p.add_argument("--gt", help="ground-truth video of the clip: enables PSNR and SSIM")
    p.add_argument("--reference-motions", help="folder of AIST++/EDGE npz/pkl: FID_k and FID_g")
    for metric, option in WEIGHT_OPTIONS.items():
        _, network = NETWORK_METRICS[metric]
        p.add_argument(f"--{option.replace('_', '-')}", help=f"{metric} (needs --gt): {network}")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override evaluate.* or gates.* from params/defaults.yaml (repeatable)",
    )
    p.set_defaults(func=handler)
