"""A fully cached run must stay fast: the CLI and the planner import neither Prefect nor torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys
from music2dance_cli.main import build_parser
from flows.dag import param_rules, report
build_parser(); param_rules()
heavy = sorted(m for m in ("prefect", "torch", "smplx", "face_recognition", "diffusers")
               if m in sys.modules)
assert not heavy, heavy
"""


def test_cli_and_planner_import_no_heavy_packages():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
