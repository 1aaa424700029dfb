"""A stand-in for jukemirlib (the 5B Jukebox model): a deterministic function of the audio,
installed in sys.modules with local weight files, shared by the Jukebox and AIST++ tests."""

import sys
import types
from pathlib import Path

import numpy as np

from tasks.motion.edge.jukebox import DIM, WEIGHT_FILES


def fake_features(audio: np.ndarray) -> np.ndarray:
    """(150, 4800): each 1/30 s of audio's RMS, spread over the channels."""
    frames = audio[: 150 * (len(audio) // 150)].reshape(150, -1)
    rms = np.sqrt((frames**2).mean(axis=1))
    return (rms[:, None] * np.linspace(0.5, 1.5, DIM)[None]).astype(np.float32)


def install(monkeypatch) -> types.SimpleNamespace:
    """Put the fake into sys.modules; returns the record of its setup and extract calls."""
    calls = types.SimpleNamespace(setup=[], extract=[])
    lib = types.SimpleNamespace(VQVAE=None, TOP_PRIOR=None)

    def setup_models(cache_dir, verbose):
        calls.setup.append(cache_dir)
        return "vqvae", "prior"

    def extract(audio, layers, downsample_target_rate):
        calls.extract.append((layers, downsample_target_rate))
        return {66: fake_features(audio)}

    module = types.SimpleNamespace(lib=lib, setup_models=setup_models, extract=extract)
    monkeypatch.setitem(sys.modules, "jukemirlib", module)
    return calls


def weights_dir(path: Path) -> Path:
    """A folder with (empty) files under Jukebox's weight names."""
    path.mkdir(parents=True, exist_ok=True)
    for name in WEIGHT_FILES:
        (path / name).write_bytes(b"x")
    return path
