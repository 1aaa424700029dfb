"""A user's reference motion set (AIST++ / EDGE files) as joint positions in our z-up world.

Accepted files, each one clip:
- `.npz` with `joints` or `full_pose` (T, 24, 3): positions, z-up metres, 30 fps (EDGE output);
- `.npz` or `.pkl` with `smpl_poses` (T, 72) and `smpl_trans` (T, 3): with `smpl_scaling` this is
  raw AIST++ (y-up, 60 fps, trans in scaled units), turned into EDGE's frame exactly as EDGE's
  loader does (trans / scaling, root and trans rotated +90 deg about X, every 2nd frame);
  without it the poses are taken as already z-up at 30 fps (EDGE's `smpl_poses`, our export).
- `.pkl` is read with a restricted unpickler that only rebuilds numpy arrays and dicts; anything
  else in the pickle (code, other classes) is refused, never executed.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.motion.skeleton import UPRIGHT, forward_kinematics

AIST_FPS_STEP = 2  # AIST++ is 60 fps, EDGE keeps every 2nd frame
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a motion pickle")


def _read(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    with open(path, "rb") as f:
        try:
            data = _ArrayUnpickler(f).load()
        except (pickle.UnpicklingError, EOFError, AttributeError) as err:
            raise InputError(
                f"{path}: not a plain motion pickle ({err}); convert it to npz"
            ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a dict of arrays, found {type(data).__name__}")
    return {k: np.asarray(v) for k, v in data.items()}


def joints_from_smpl(
    poses: np.ndarray, trans: np.ndarray, scaling: float | None = None
) -> np.ndarray:
    """(T, 24, 3) z-up joints from (T, 72) axis-angle poses and (T, 3) root translation.

    With `scaling` (raw AIST++, y-up) the body and trans are first stood up in the z-up world:
    root rotation and translation are pre-multiplied by Rx(+90 deg), trans divided by scaling.
    """
    poses = poses.reshape(len(poses), 24, 3).astype(np.float64)
    trans = trans.astype(np.float64)
    if scaling is not None:
        trans = UPRIGHT.apply(trans / scaling)
        poses = poses.copy()
        poses[:, 0] = (UPRIGHT * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    return forward_kinematics(poses, trans)


def clip_joints(path: Path) -> np.ndarray:
    """One reference clip as (T, 24, 3) z-up joints at 30 fps."""
    data = _read(path)
    for key in ("joints", "full_pose"):
        if key in data:
            return data[key].astype(np.float64).reshape(len(data[key]), 24, 3)
    if "smpl_poses" in data and "smpl_trans" in data:
        if "smpl_scaling" in data:
            scaling = float(np.asarray(data["smpl_scaling"]).reshape(-1)[0])
            step = slice(None, None, AIST_FPS_STEP)
            return joints_from_smpl(data["smpl_poses"][step], data["smpl_trans"][step], scaling)
        return joints_from_smpl(data["smpl_poses"], data["smpl_trans"])
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
