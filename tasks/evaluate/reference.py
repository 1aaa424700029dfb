"""A user's reference motion set (AIST++ / EDGE files) as joint positions in our z-up world.

Accepted files, each one clip:
- `.npz` with `joints` or `full_pose` (T, 24, 3): positions, z-up metres, 30 fps (EDGE output);
- `.npz` or `.pkl` with `smpl_poses` (T, 72) and `smpl_trans` (T, 3): with `smpl_scaling` this is
  raw AIST++ (y-up, 60 fps, trans in scaled units), turned into EDGE's frame exactly as EDGE's
  loader does (trans / scaling, root and trans rotated +90 deg about X, every 2nd frame);
  without it the poses are taken as already z-up at 30 fps (EDGE's `smpl_poses`, our export).
- `.pkl` is read with a restricted unpickler (`tasks.body.aist`): code is never executed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.body.aist import aist_to_edge, read_motion_file
from tasks.body.skeleton import forward_kinematics


def clip_joints(path: Path) -> np.ndarray:
    """One reference clip as (T, 24, 3) z-up joints at 30 fps."""
    data = read_motion_file(path)
    for key in ("joints", "full_pose"):
        if key in data:
            return data[key].astype(np.float64).reshape(len(data[key]), 24, 3)
    if "smpl_poses" in data and "smpl_trans" in data:
        if "smpl_scaling" in data:
            poses, trans = aist_to_edge(data)
        else:
            poses = data["smpl_poses"].reshape(-1, 24, 3).astype(np.float64)
            trans = data["smpl_trans"].astype(np.float64)
        return forward_kinematics(poses, trans)
    raise InputError(
        f"{path}: needs `joints`/`full_pose` (T,24,3) or `smpl_poses` + `smpl_trans` arrays"
    )


def load_reference_set(folder: Path) -> list[np.ndarray]:
    """Every `.npz` / `.pkl` clip in `folder` (sorted by name) as z-up joints at 30 fps."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(f"reference motion folder not found: {folder} (pass a folder of npz/pkl)")
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".npz", ".pkl"))
    if len(paths) < 2:
        raise InputError(f"{folder} holds {len(paths)} npz/pkl clip(s); FID needs at least 2")
    return [clip_joints(p) for p in paths]
