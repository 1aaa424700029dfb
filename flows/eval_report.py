"""What `music2dance eval` writes: metrics.csv (one row per clip), metrics.json (the same numbers
for `dvc metrics`), metrics.md (the report's table layout) and each clip's beats.png and
contact_sheet.png."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

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


def finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _cell(value: Any, fmt: str) -> str:
    value = finite(value) if isinstance(value, float | int | np.floating) else value
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
            values = [v for r in rows if (v := finite(r.get(m))) is not None]
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
            k: v if isinstance(v, bool) else finite(v)
            for k, v in values.items()
            if isinstance(v, bool | int | float) and finite(v) is not None
        }

    if len(rows) == 1:
        doc = numbers(rows[0])
    else:
        doc = {row["clip"]: numbers(row) for row in rows} | {"set": numbers(set_summary)}
    path.write_text(json.dumps(doc, indent=2) + "\n")


def body_checks(groups: Mapping[str, Any], indices: np.ndarray) -> tuple[Any, list, list]:
    """(the photo's PhotoBody, frames, tasks.evaluate.body checks) of the animated frames at
    `indices`, each frame resized to the aligned photo as the evaluate stage measures it."""
    from tasks.evaluate.body import DrawnBodies, check_frame, read_photo
    from tasks.evaluate.segment import PersonSegmenter
    from tasks.evaluate.video import match_size

    align, animate = groups["align"], groups["animate"]
    parts, frames = align["parts"], animate["frames"]
    with PersonSegmenter() as segment:
        photo = read_photo(np.asarray(align["reference"]), np.asarray(parts[0]), segment)
        sheet = [match_size(np.asarray(frames[i]), parts.shape[1:]) for i in indices]
        drawn_at = DrawnBodies(align, animate, photo)
        driving = (drawn_at(i) for i in indices)
        checks = [
            check_frame(f, segment.near(f, d.parts > 0).mask, d, photo)
            for f, d in zip(sheet, driving, strict=True)
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
        figure = contact_sheet_figure(reference, photo, sheet, checks, idx.tolist(), fps, title)
        figure.savefig(paths[1])
    return paths
