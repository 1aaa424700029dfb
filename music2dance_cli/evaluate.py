"""`music2dance eval`: metrics, quality gates and plots for finished runs (flows.evaluate).

Input is one run report (`music2dance run --report R.json`) or a dataset index (parquet or CSV
with a `report` column, optional `clip` and `gt` columns). Output, under --out DIR: metrics.csv
(one row per clip), metrics.json (the same numbers for `dvc metrics`), metrics.md (the report's
table layout) and <clip>/beats.png, contact_sheet.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

WEIGHT_OPTIONS = {"lpips": "lpips_weights", "fid_vid": "fid_vid_weights", "fvd": "fvd_weights"}


def handler(args: argparse.Namespace) -> int:
    """Evaluate every clip; exit 1 when any clip misses a gate (the CSV says which)."""
    from flows.evaluate import evaluate_runs

    out = Path(args.out).expanduser()
    rows = evaluate_runs(
        Path(args.source).expanduser(),
        out,
        store=args.store,
        overrides=args.set,
        gt=Path(args.gt) if args.gt else None,
        weights={metric: getattr(args, option) for metric, option in WEIGHT_OPTIONS.items()},
        reference_motions=Path(args.reference_motions) if args.reference_motions else None,
    )
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
