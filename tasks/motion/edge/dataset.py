"""AIST++ -> the .npz clips `train-motion` reads (poses, trans, features at 30 fps, z-up).

Input layout (AIST++ as EDGE's `edge_aistpp/` folder holds it):

    ROOT/motions/<sequence>.pkl        smpl_poses (N, 72), smpl_trans (N, 3), smpl_scaling, 60 fps
    ROOT/wavs/<sequence>.wav           the music of each sequence (or wavs/<music id>.wav, e.g.
                                       mBR0.wav, the AIST dance database's naming)
    ROOT/splits/crossmodal_{train,test}.txt, ignore_list.txt   (optional: EDGE's split)

Motions are stood up and downsampled as EDGE's loader does (`tasks.motion.aist`); features are
the audio stage's 35-d baseline features of the music, cut to the motion's length.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.motion.aist import aist_to_edge, read_motion_file

log = logging.getLogger(__name__)
SPLITS = ("train", "test", "all")


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


def convert_aist(root: str | Path, out: str | Path, split: str = "train") -> list[Path]:
    """Write out/<sequence>.npz for every sequence of `split`; returns the written files."""
    from tqdm.auto import tqdm

    from tasks.audio.decode import load_audio
    from tasks.audio.features import SAMPLE_RATE, extract_features

    root, out = Path(root).expanduser(), Path(out).expanduser()
    names = sequences(root, split)
    if not names:
        raise InputError(f"{root}: split {split!r} holds no sequences")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tqdm(names, desc="AIST++", unit="sequence"):
        motion = root / "motions" / f"{name}.pkl"
        if not motion.is_file():
            raise InputError(f"{motion} not found (listed in the split)")
        poses, trans = aist_to_edge(read_motion_file(motion))
        samples = load_audio(music_file(root, name), SAMPLE_RATE)
        features = extract_features(samples).features
        frames = min(len(poses), len(features))
        path = out / f"{name}.npz"
        tmp = out / f".{name}.{os.getpid()}.npz"
        np.savez(
            tmp,
            poses=poses[:frames].reshape(frames, 72).astype(np.float32),
            trans=trans[:frames].astype(np.float32),
            features=features[:frames].astype(np.float32),
        )
        os.replace(tmp, path)
        written.append(path)
    log.info("AIST++ %s: %d sequences -> %s", split, len(written), out)
    return written
