"""Jukebox features for the released EDGE checkpoint, extracted per 5 s window and cached.

EDGE's inference (test.py) cuts the song into 5 s slices at 2.5 s stride and runs jukemirlib on
each slice: layer 66 of Jukebox's top prior, downsampled to 30 fps, 4800-d (150 x 4800 per slice).
We do the same, window by window, and write each window's features to a cache folder as soon as it
is done (written to a temporary name, then renamed), so an interrupted extraction resumes where it
stopped (EDGE issue #19) and a half-written or foreign file is recomputed.

jukemirlib is optional (`pip install 'music2dance[jukebox]'`); its two weight files
(vqvae.pth.tar, prior_level_2.pth.tar from OpenAI's Jukebox release) are read from
`motion.jukebox_dir` and never downloaded here.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from tasks.base import InputError
from tasks.motion.edge.diffusion import OVERLAP
from tasks.motion.edge.longform import WINDOW, num_windows
from tasks.motion.edge.params import JUKEBOX_FILES

log = logging.getLogger(__name__)

SAMPLE_RATE = 44_100  # jukemirlib.JUKEBOX_SAMPLE_RATE
LAYER = 66
DIM = 4800
FPS = 30
WINDOW_SECONDS = WINDOW / FPS  # 5 s
STRIDE_SECONDS = WINDOW_SECONDS / 2  # 2.5 s
WEIGHT_FILES = JUKEBOX_FILES
CACHE_ENV = "MUSIC2DANCE_FEATURE_CACHE"
SETTINGS = f"jukemirlib-layer{LAYER}-{FPS}fps-{SAMPLE_RATE}hz-v1"  # part of every cache key

Extractor = Callable[[np.ndarray], np.ndarray]  # 5 s of mono audio -> (150, 4800)


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, "~/.cache/music2dance/features")).expanduser()


def jukemirlib_extractor(weights_dir: str | Path | None) -> Extractor:
    """jukemirlib set up from local weights; a clear error when it or its weights are missing."""
    try:
        import jukemirlib
    except ImportError as err:
        raise InputError(
            "Jukebox features (4800-d, the released EDGE checkpoint's cond width) need "
            "jukemirlib: pip install 'music2dance[jukebox]' and set motion.jukebox_dir, or use "
            "a checkpoint trained on the 35-d baseline features"
        ) from err
    if weights_dir is None:
        raise InputError(
            "Jukebox features need motion.jukebox_dir: a folder with "
            f"{' and '.join(WEIGHT_FILES)} (OpenAI Jukebox 5b)"
        )
    folder = Path(weights_dir).expanduser()
    if missing := [name for name in WEIGHT_FILES if not (folder / name).is_file()]:
        raise InputError(f"motion.jukebox_dir {folder} lacks {', '.join(missing)}")
    _setup(jukemirlib, folder)

    def extract(audio: np.ndarray) -> np.ndarray:
        reps = jukemirlib.extract(audio=audio, layers=[LAYER], downsample_target_rate=FPS)
        return np.asarray(reps[LAYER], dtype=np.float32)

    return extract


def _setup(jukemirlib: ModuleType, folder: Path) -> None:
    """Load the models from `folder` once per process (jukemirlib would otherwise download)."""
    lib = jukemirlib.lib
    if lib.VQVAE is None:
        lib.VQVAE, lib.TOP_PRIOR = jukemirlib.setup_models(cache_dir=str(folder), verbose=False)


def window_audio(audio: np.ndarray, index: int) -> np.ndarray:
    """5 s of audio from index x 2.5 s, peak-normalised on its own as jukemirlib.load_audio does
    with each of EDGE's slice files; a short tail is padded with silence."""
    length, stride = round(WINDOW_SECONDS * SAMPLE_RATE), round(STRIDE_SECONDS * SAMPLE_RATE)
    piece = audio[index * stride : index * stride + length]
    peak = np.abs(piece).max() if len(piece) else 0.0
    piece = piece / peak if peak > 0 else piece
    return np.pad(piece, (0, length - len(piece))).astype(np.float32)


class WindowCache:
    """One .npy per window under cache/<audio sha256>-<settings hash>/."""

    def __init__(self, root: Path, audio_sha256: str) -> None:
        settings = hashlib.sha256(SETTINGS.encode()).hexdigest()[:12]
        self.folder = root / f"{audio_sha256}-{settings}"

    def path(self, index: int) -> Path:
        return self.folder / f"window{index:05d}.npy"

    def get(self, index: int) -> np.ndarray | None:
        """The cached window, or None when absent or not a complete (150, 4800) float array."""
        path = self.path(index)
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if value.shape != (WINDOW, DIM) or value.dtype != np.float32:
            return None
        return value

    def put(self, index: int, value: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{self.path(index).name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, value.astype(np.float32))
        os.replace(tmp, self.path(index))


def jukebox_windows(
    audio: np.ndarray, num_frames: int, cache: WindowCache, extract: Extractor
) -> np.ndarray:
    """(n, 150, 4800) features of the n windows covering num_frames (30 fps) of `audio`
    (mono, 44.1 kHz); cached windows are reused, the others extracted and cached one by one."""
    from tqdm.auto import tqdm

    n = num_windows(num_frames)
    windows, computed = [], 0
    for k in tqdm(range(n), desc="Jukebox features", unit="window", leave=False):
        value = cache.get(k)
        if value is None:
            value = np.asarray(extract(window_audio(audio, k)), dtype=np.float32)
            if value.shape != (WINDOW, DIM):
                raise RuntimeError(f"Jukebox returned {value.shape} for a 5 s window")
            cache.put(k, value)
            computed += 1
        windows.append(value)
    log.info("Jukebox features: %d windows, %d cached, %d extracted", n, n - computed, computed)
    return np.stack(windows)


def stitch_windows(windows: np.ndarray, num_frames: int) -> np.ndarray:
    """(n, 150, C) windows at 75-frame stride -> (num_frames, C) per-frame features.

    Frames 0-149 come from window 0; later frames from the second half of the window that ends
    there (window k supplies frames 75 (k + 1) to 75 (k + 2)). Jukebox's prior is autoregressive,
    so a window's later frames carry 2.5-5 s of the music before them, its early frames less.
    """
    frames = np.arange(num_frames)
    k = np.clip(frames // OVERLAP - 1, 0, len(windows) - 1)
    return windows[k, frames - OVERLAP * k]


def file_windows(path: Path, num_frames: int, extract: Extractor) -> np.ndarray:
    """(n, 150, 4800) windows of a music file, cached under the hash of its decoded audio."""
    audio = load_audio(path)
    cache = WindowCache(default_cache_dir(), hashlib.sha256(audio.tobytes()).hexdigest())
    return jukebox_windows(audio, num_frames, cache, extract)


def load_audio(path: str | Path) -> np.ndarray:
    """Mono audio at Jukebox's 44.1 kHz (librosa, as jukemirlib.load_audio)."""
    import librosa

    return librosa.load(str(path), sr=SAMPLE_RATE, mono=True)[0]
