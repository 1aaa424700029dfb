"""Build a motion library from mocap files: ASF/AMC, BVH, AIST++ or EDGE motion pkl/npz.

Each file is read into SMPL poses and root translation (`retarget`), resampled to 30 fps, turned
to face -Y at its first frame with its feet on z = 0, and stored under `<prefix><file stem>`.

Couple dances: with partners (A, B), the files `<A>_<take>` and `<B>_<take>` among the sources are
the two dancers of one take, captured together; each dancer's clip records when its hands hold
the other (holds.py), so synthesis can free the arms that reach for a partner who is not there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.body.aist import aist_to_edge, read_motion_file
from tasks.motion.library.acclaim import read_asf_amc
from tasks.motion.library.bvh import read_bvh
from tasks.motion.library.clips import LIBRARY_FPS, MotionClip, load_library, save_library
from tasks.motion.library.holds import partner_holds, resample_holds
from tasks.motion.library.retarget import place_on_stage, resample, retarget
from tasks.motion.library.source import SourceMotion

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


def read_source(path: Path, asf: Path | None, amc_fps: float) -> SourceMotion | None:
    """The source skeleton's motion of an ASF/AMC or BVH file (None for SMPL pkl/npz)."""
    suffix = path.suffix.lower()
    if suffix == ".amc":
        return read_asf_amc(asf or find_asf(path), path, amc_fps)
    if suffix == ".bvh":
        return read_bvh(path)
    return None


def read_clip_motion(path: Path, asf: Path | None, amc_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Poses (T,24,3) and trans (T,3) at 30 fps, placed on stage, from one mocap file."""
    suffix = path.suffix.lower()
    source = read_source(path, asf, amc_fps)
    if source is None and suffix in (".pkl", ".npz"):
        data = read_motion_file(path)
        if "smpl_poses" not in data or "smpl_trans" not in data:
            raise InputError(f"{path}: not an AIST++ or EDGE motion (needs smpl_poses, smpl_trans)")
        if "smpl_scaling" in data:  # raw AIST++: 60 fps, y up, scaled
            poses, trans = aist_to_edge(data)
        else:  # an EDGE result or `music2dance export --format pkl`: already 30 fps, z up
            poses, trans = data["smpl_poses"].reshape(-1, 24, 3), data["smpl_trans"]
        return place_on_stage(poses.astype(np.float64), trans.astype(np.float64), LIBRARY_FPS)
    if source is None:
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


def partner_files(files: Sequence[Path], partners: Sequence[tuple[str, str]]) -> dict[Path, Path]:
    """Each file of a couple -> its partner's file: `<A>_<take>` <-> `<B>_<take>` for (A, B)."""
    by_stem = {path.stem: path for path in files}
    pairs = {}
    for a, b in partners:
        for path in files:
            subject, _, take = path.stem.partition("_")
            if subject not in (a, b) or not take:
                continue
            other = f"{b if subject == a else a}_{take}"
            if other not in by_stem:
                raise InputError(f"{path}: its partner {other} is not among the sources; pass both")
            pairs[path] = by_stem[other]
    return pairs


def _holds(path: Path, partner: Path, asf: Path | None, amc_fps: float, frames: int) -> np.ndarray:
    """(frames, 2) holds of the dancer in `path` at 30 fps."""
    dancer, other = read_source(path, asf, amc_fps), read_source(partner, asf, amc_fps)
    if dancer is None or other is None:
        raise InputError(f"{path}: partners must be ASF/AMC or BVH files (the capture's space)")
    if dancer.num_frames != other.num_frames:
        raise InputError(
            f"{path} has {dancer.num_frames} frames, its partner {partner} {other.num_frames}: "
            "partners must be captured together"
        )
    return resample_holds(partner_holds(dancer, other)[0], dancer.fps, LIBRARY_FPS, frames)


def build_library(
    sources: Sequence[str | Path],
    out: str | Path,
    style: str,
    asf: Path | None = None,
    amc_fps: float = 120.0,
    prefix: str = "",
    append: bool = False,
    partners: Sequence[tuple[str, str]] = (),
) -> list[MotionClip]:
    """Retarget every motion file in `sources` and write the library `out` (with `append`, the
    clips already in `out` stay unless a new clip has the same name); `partners` pairs subjects
    of couple dances (see the module doc)."""
    clips = {}
    if append and Path(out).exists():
        clips = {c.name: c for c in load_library(out)}
    files = motion_files(sources)
    pairs = partner_files(files, partners)
    for path in files:
        poses, trans = read_clip_motion(path, asf, amc_fps)
        held = _holds(path, pairs[path], asf, amc_fps, len(poses)) if path in pairs else None
        name = f"{prefix}{path.stem}"
        clips[name] = MotionClip(
            name, style, poses.astype(np.float32), trans.astype(np.float32), held
        )
        log.info("%s: %d frames (%.1f s) as %r", path.name, len(poses), len(poses) / 30, style)
    save_library(list(clips.values()), out)
    return sorted(clips.values(), key=lambda c: c.name)
