"""Test-wide settings (a private Prefect home per run, telemetry off, quiet logs) and the shared
demo inputs of the end-to-end tests."""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from flows.prefect_env import apply_prefect_settings  # noqa: E402 (the repo root is on the path now)

_PREFECT_HOME = tempfile.mkdtemp(prefix="m2d-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
apply_prefect_settings(os.environ)
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("MUSIC2DANCE_STORE", None)

# Small frames keep the whole-flow tests fast; the stages' own tests cover full size.
FAST = ["--set", "render.resolution=128", "--set", "align.resolution=128"]
SR = 44100  # the demo music's sample rate


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The demo's inputs (`music2dance demo-inputs`, 3 s of music), a mirrored photo, a photo
    without a face and a text file posing as music."""
    from music2dance_cli.main import write_demo_inputs

    root = tmp_path_factory.mktemp("inputs")
    audio, image = write_demo_inputs(root, seconds=3.0)
    photo = np.asarray(Image.open(image).convert("RGB"))
    Image.fromarray(np.ascontiguousarray(photo[:, ::-1])).save(root / "astronaut_flipped.png")
    gradient = np.tile(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], (256, 1, 3))
    Image.fromarray(gradient).save(root / "noface.png")
    (root / "notes.txt").write_text("not music at all\n" * 50)
    return {
        "audio": audio,
        "image": image,
        "image2": root / "astronaut_flipped.png",
        "noface": root / "noface.png",
        "notes": root / "notes.txt",
        "root": root,
    }
