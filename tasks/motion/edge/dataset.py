"""AIST++ -> the .npz clips `train-motion` reads (poses, trans, features at 30 fps, z-up).

Input layout (AIST++ as EDGE's `edge_aistpp/` folder holds it):

    ROOT/motions/<sequence>.pkl        smpl_poses (N, 72), smpl_trans (N, 3), smpl_scaling, 60 fps
    ROOT/wavs/<sequence>.wav           the music of each sequence (or wavs/<music id>.wav, e.g.
                                       mBR0.wav, the AIST dance database's naming)
    ROOT/splits/crossmodal_{train,test}.txt, ignore_list.txt   (optional: EDGE's split)

Motions are stood up and downsampled as EDGE's loader does (`tasks.body.aist`); features are
the audio stage's 35-d baseline features of the music (default) or 4800-d Jukebox features
(`features="jukebox"`, to fine-tune the released checkpoint), cut to the motion's length.
Jukebox features are extracted per 5 s window at 2.5 s stride through the resumable window cache
(a song shared by several sequences is extracted once) and stitched per frame; EDGE instead
extracts every 0.5 s-stride training slice on its own, 5x the Jukebox passes and disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.body.aist import aist_to_edge, read_motion_file

log = logging.getLogger(__name__)
SPLITS = ("train", "test", "all")
FEATURES = ("baseline", "jukebox")
Features = Callable[[Path, int], np.ndarray]  # music file, motion frames -> (<= frames, C)


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def sequences(root: Path, split: str) -> list[str]:
    """The sequence names of `split` (EDGE's crossmodal split minus its ignore list)."""
    if split not in SPLITS:
        raise InputError(f"--split {split!r}: use one of {', '.join(SPLITS)}")
    motions = root / "motions"
    if not motions.is_dir():
        raise InputError(f"{root}: no motions/ folder (expected AIST++ motions/*.pkl)")
    if split == "all":
        return sorted(p.stem for p in motions.glob("*.pkl"))
    listed = root / "splits" / f"crossmodal_{split}.txt"
    if not listed.is_file():
        raise InputError(f"{listed} not found: add AIST++'s split files or use --split all")
    ignore = root / "splits" / "ignore_list.txt"
    skipped = set(_lines(ignore)) if ignore.is_file() else set()
    return [name for name in _lines(listed) if name not in skipped]


def music_file(root: Path, sequence: str) -> Path:
    """wavs/<sequence>.wav, else wavs/<music id>.wav (the `m...` field of the name)."""
    candidates = [root / "wavs" / f"{sequence}.wav"]
    candidates += [root / "wavs" / f"{part}.wav" for part in sequence.split("_") if part[:1] == "m"]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(f"{sequence}: no music in {root / 'wavs'} (tried {candidates[0].name})")


def baseline_features(music: Path, frames: int) -> np.ndarray:
    from tasks.audio.decode import load_audio
    from tasks.audio.features import SAMPLE_RATE, extract_features

    return extract_features(load_audio(music, SAMPLE_RATE)).features[:frames]


def jukebox_features(jukebox_dir: str | Path | None) -> Features:
    """Per-frame Jukebox features of a music file (jukemirlib from local weights, cached)."""
    import librosa

    from tasks.motion.edge import jukebox

    extract = jukebox.jukemirlib_extractor(jukebox_dir)

    def features(music: Path, frames: int) -> np.ndarray:
        frames = min(frames, int(librosa.get_duration(path=str(music)) * jukebox.FPS))
        return jukebox.stitch_windows(jukebox.file_windows(music, frames, extract), frames)

    return features


def convert_aist(
    root: str | Path,
    out: str | Path,
    split: str = "train",
    features: str = "baseline",
    jukebox_dir: str | Path | None = None,
) -> list[Path]:
    """Write out/<sequence>.npz for every sequence of `split`; returns the written files."""
    from tqdm.auto import tqdm

    if features not in FEATURES:
        raise InputError(f"--features {features!r}: use one of {', '.join(FEATURES)}")
    root, out = Path(root).expanduser(), Path(out).expanduser()
    names = sequences(root, split)
    if not names:
        raise InputError(f"{root}: split {split!r} holds no sequences")
    music_features = baseline_features if features == "baseline" else jukebox_features(jukebox_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tqdm(names, desc="AIST++", unit="sequence"):
        motion = root / "motions" / f"{name}.pkl"
        if not motion.is_file():
            raise InputError(f"{motion} not found (listed in the split)")
        poses, trans = aist_to_edge(read_motion_file(motion))
        cond = music_features(music_file(root, name), len(poses))
        frames = min(len(poses), len(cond))
        path = out / f"{name}.npz"
        tmp = out / f".{name}.{os.getpid()}.npz"
        np.savez(
            tmp,
            poses=poses[:frames].reshape(frames, 72).astype(np.float32),
            trans=trans[:frames].astype(np.float32),
            features=cond[:frames].astype(np.float32),
        )
        os.replace(tmp, path)
        written.append(path)
    log.info("AIST++ %s: %d sequences (%s features) -> %s", split, len(written), features, out)
    return written
