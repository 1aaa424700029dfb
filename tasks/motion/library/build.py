"""Build a motion library from mocap files: ASF/AMC, BVH, AIST++ or EDGE motion pkl/npz.

Each file is read into SMPL poses and root translation (`retarget`), resampled to 30 fps, turned
to face -Y at its first frame with its feet on z = 0, and stored under `<prefix><file stem>`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.motion.aist import aist_to_edge, read_motion_file
from tasks.motion.library.acclaim import read_asf_amc
from tasks.motion.library.bvh import read_bvh
from tasks.motion.library.clips import LIBRARY_FPS, MotionClip, load_library, save_library
from tasks.motion.library.retarget import place_on_stage, resample, retarget

log = logging.getLogger("music2dance")
SUFFIXES = (".amc", ".bvh", ".pkl", ".npz")


def find_asf(amc: Path) -> Path:
    """The skeleton beside an AMC: `<subject>.asf` for `<subject>_<trial>.amc`, or the only ASF."""
    by_subject = amc.with_name(f"{amc.stem.split('_')[0]}.asf")
    if by_subject.is_file():
        return by_subject
    found = sorted(amc.parent.glob("*.asf"))
    if len(found) == 1:
        return found[0]
    raise InputError(f"{amc}: no single skeleton .asf beside it; pass its skeleton with --asf")


def read_clip_motion(path: Path, asf: Path | None, amc_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Poses (T,24,3) and trans (T,3) at 30 fps, placed on stage, from one mocap file."""
    suffix = path.suffix.lower()
    if suffix == ".amc":
        source = read_asf_amc(asf or find_asf(path), path, amc_fps)
    elif suffix == ".bvh":
        source = read_bvh(path)
    elif suffix in (".pkl", ".npz"):
        data = read_motion_file(path)
        if "smpl_poses" not in data or "smpl_trans" not in data:
            raise InputError(f"{path}: not an AIST++ or EDGE motion (needs smpl_poses, smpl_trans)")
        if "smpl_scaling" in data:  # raw AIST++: 60 fps, y up, scaled
            poses, trans = aist_to_edge(data)
        else:  # an EDGE result or `music2dance export --format pkl`: already 30 fps, z up
            poses, trans = data["smpl_poses"].reshape(-1, 24, 3), data["smpl_trans"]
        return place_on_stage(poses.astype(np.float64), trans.astype(np.float64), LIBRARY_FPS)
    else:
        raise InputError(f"{path}: unknown motion format; use {', '.join(SUFFIXES)}")
    return resample(*retarget(source), source.fps, LIBRARY_FPS)


def motion_files(sources: Sequence[str | Path]) -> list[Path]:
    """The motion files named, folders expanded to their motion files (sorted)."""
    files = []
    for src in map(Path, sources):
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix.lower() in SUFFIXES)
        elif src.is_file():
            files.append(src)
        else:
            raise InputError(f"{src} does not exist; pass motion files or folders of them")
    if not files:
        raise InputError(f"no {'/'.join(SUFFIXES)} files in {', '.join(map(str, sources))}")
    return files


def build_library(
    sources: Sequence[str | Path],
    out: str | Path,
    style: str,
    asf: Path | None = None,
    amc_fps: float = 120.0,
    prefix: str = "",
    append: bool = False,
) -> list[MotionClip]:
    """Retarget every motion file in `sources` and write the library `out` (with `append`, the
    clips already in `out` stay unless a new clip has the same name)."""
    clips = {}
    if append and Path(out).exists():
        clips = {c.name: c for c in load_library(out)}
    for path in motion_files(sources):
        poses, trans = read_clip_motion(path, asf, amc_fps)
        name = f"{prefix}{path.stem}"
        clips[name] = MotionClip(name, style, poses.astype(np.float32), trans.astype(np.float32))
        log.info("%s: %d frames (%.1f s) as %r", path.name, len(poses), len(poses) / 30, style)
    save_library(list(clips.values()), out)
    return sorted(clips.values(), key=lambda c: c.name)
