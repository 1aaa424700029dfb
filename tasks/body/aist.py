"""AIST++ / EDGE motion files: safe reading and EDGE's conversion of raw AIST++ to our frame.

- `.npz` files are read without pickle;
- `.pkl` files with a restricted unpickler that only rebuilds numpy arrays and dicts; anything
  else in the pickle (code, other classes) is refused, never executed.

Raw AIST++ motions (`smpl_poses` (N, 72), `smpl_trans` (N, 3), `smpl_scaling` (1,), y-up,
60 fps) become EDGE's training frame exactly as EDGE's loader does: trans / scaling, root
rotation and trans rotated +90 deg about X (z-up), every 2nd frame (30 fps).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import UPRIGHT

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


def read_motion_file(path: Path) -> dict[str, np.ndarray]:
    """The arrays of one `.npz` or plain `.pkl` motion file."""
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


def aist_to_edge(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A raw AIST++ motion dict -> EDGE-frame poses (T, 24, 3) and trans (T, 3) at 30 fps."""
    scaling = float(np.asarray(data["smpl_scaling"]).reshape(-1)[0])
    poses = data["smpl_poses"][::AIST_FPS_STEP].reshape(-1, 24, 3).astype(np.float64)
    poses[:, 0] = (UPRIGHT * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    trans = data["smpl_trans"][::AIST_FPS_STEP].astype(np.float64) / scaling
    return poses, UPRIGHT.apply(trans)
