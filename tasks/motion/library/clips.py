"""Motion clips of the dance library and its file: load (safe, validated), save (atomic), mirror.

File layout (npz, no pickle): `names`, `styles` (N,) unicode; `starts` (N+1,) int64 frame offsets
into the concatenated `quats` (F, 24, 4) int16 (unit quaternions x, y, z, w times 32767, w >= 0:
0.004 deg resolution, half the bytes of float32 axis-angle) and `trans` (F, 3) float32; `fps`;
optional `held` (F, 2) bool: the left / right hand holds a partner (couple dances, see holds.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import NUM_JOINTS

LIBRARY_FPS = 30
BUNDLED = Path(__file__).parent / "data" / "cmu_dance.npz"
QUAT_SCALE = 32767
MIRROR_SUFFIX = "~m"
# SMPL joint index of each joint's mirror image (left <-> right)
MIRROR = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20, 23, 22)
_REBUILD = "rebuild it with `music2dance build-library SRC... --out PATH`"


@dataclass(frozen=True)
class MotionClip:
    name: str  # e.g. "cmu/60_01"
    style: str  # "salsa" | "modern" | "charleston" | "chicken" | a user's label
    poses: np.ndarray  # (T, 24, 3) float32 axis-angle, the motion artifact's conventions
    trans: np.ndarray  # (T, 3) float32 metres, z up, lowest foot on the ground z = 0
    held: np.ndarray | None = None  # (T, 2) bool: left / right hand holds a partner; None: never

    @property
    def seconds(self) -> float:
        return len(self.poses) / LIBRARY_FPS


def _quantize(poses: np.ndarray) -> np.ndarray:
    quats = Rotation.from_rotvec(poses.reshape(-1, 3)).as_quat()
    quats *= np.where(quats[:, 3:] < 0, -1.0, 1.0)
    return np.round(quats * QUAT_SCALE).astype(np.int16).reshape(*poses.shape[:-1], 4)


def _dequantize(quats: np.ndarray) -> np.ndarray:
    flat = Rotation.from_quat(quats.reshape(-1, 4).astype(np.float64) / QUAT_SCALE).as_rotvec()
    return flat.reshape(*quats.shape[:-1], 3).astype(np.float32)


def _held(clip: MotionClip) -> np.ndarray:
    if clip.held is None:
        return np.zeros((len(clip.poses), 2), bool)
    return np.asarray(clip.held, bool)


def save_library(clips: Sequence[MotionClip], path: str | Path) -> None:
    """Write `clips` (sorted by name, so the file is deterministic) atomically to `path`."""
    if not clips:
        raise InputError("no clips to save: pass at least one motion file")
    clips = sorted(clips, key=lambda c: c.name)
    holds = any(c.held is not None for c in clips)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp.npz")
    try:  # np.savez stamps every member 1980-01-01: the same clips give the same bytes
        np.savez_compressed(
            tmp,
            names=np.array([c.name for c in clips], dtype=str),
            styles=np.array([c.style for c in clips], dtype=str),
            starts=np.cumsum([0] + [len(c.poses) for c in clips]).astype(np.int64),
            quats=np.concatenate([_quantize(c.poses) for c in clips]),
            trans=np.concatenate([c.trans for c in clips]).astype(np.float32),
            fps=np.int64(LIBRARY_FPS),
            **({"held": np.concatenate([_held(c) for c in clips])} if holds else {}),
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _checked(data: dict[str, np.ndarray], path: Path) -> None:
    """Raise InputError unless the arrays of a library file fit together."""

    def refuse(what: str) -> None:
        raise InputError(f"{path}: {what}; {_REBUILD}")

    need = {"names", "styles", "starts", "quats", "trans", "fps"}
    if missing := need - set(data):
        refuse(f"not a motion library (missing {sorted(missing)})")
    names, styles, starts = data["names"], data["styles"], data["starts"]
    quats, trans, fps = data["quats"], data["trans"], data["fps"]
    if (
        names.ndim != 1
        or styles.shape != names.shape
        or {names.dtype.kind, styles.dtype.kind} != {"U"}
    ):
        refuse("names and styles must be 1-d string arrays of the same length")
    if quats.ndim != 3 or quats.shape[1:] != (NUM_JOINTS, 4) or quats.dtype != np.int16:
        refuse("quats must be (F, 24, 4) int16")
    norms = np.linalg.norm(quats.astype(np.float32), axis=-1) / QUAT_SCALE
    if np.any(np.abs(norms - 1.0) > 0.01):
        refuse("quats must be unit quaternions times 32767")
    if trans.shape != (len(quats), 3) or not np.isfinite(trans).all():
        refuse("trans must be (F, 3), finite, one row per quats frame")
    if (
        starts.shape != (len(names) + 1,)
        or starts[0] != 0
        or starts[-1] != len(quats)
        or np.any(np.diff(starts) < 1)
    ):
        refuse("starts must run from 0 to F with one non-empty clip per name")
    if fps.shape != () or int(fps) != LIBRARY_FPS:
        refuse(f"fps must be {LIBRARY_FPS}")
    if "held" in data and (data["held"].shape != (len(quats), 2) or data["held"].dtype != bool):
        refuse("held must be (F, 2) bool, one row per quats frame")


def load_library(path: str | Path | None = None) -> list[MotionClip]:
    """The clips of a library file (None: the bundled CMU dance library)."""
    path = BUNDLED if path is None else Path(path)
    if not path.is_file():
        raise InputError(f"motion library {path} does not exist; {_REBUILD}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a readable npz motion library ({err}); {_REBUILD}") from None
    _checked(data, path)
    poses, trans, held = _dequantize(data["quats"]), data["trans"], data.get("held")
    return [
        MotionClip(
            str(name), str(style), poses[a:b], trans[a:b], None if held is None else held[a:b]
        )
        for name, style, a, b in zip(
            data["names"], data["styles"], data["starts"][:-1], data["starts"][1:], strict=True
        )
    ]


def mirror_clip(clip: MotionClip) -> MotionClip:
    """The clip mirrored left/right about the body's sagittal plane at its first frame.

    In a body frame (x to the body's left) a mirror is M = diag(-1, 1, 1): each local rotation R
    becomes M R M (axis-angle (x, -y, -z)) on the opposite joint. The root rotation and the
    translation are mirrored about the vertical plane through the first pelvis and its facing.
    """
    flip = np.array([1.0, -1.0, -1.0])
    poses = clip.poses[:, list(MIRROR)] * flip
    root = Rotation.from_rotvec(clip.poses[:, 0])
    facing = root[0].apply([0.0, 0.0, 1.0])  # SMPL's forward (+z) in the world
    to_body = Rotation.from_euler("z", -np.arctan2(facing[0], -facing[1]))  # facing -> -Y
    mirror = np.diag([-1.0, 1.0, 1.0])
    world = to_body.inv().as_matrix() @ mirror @ to_body.as_matrix()  # reflection in the world
    root_mirrored = world @ root.as_matrix() @ mirror
    poses[:, 0] = Rotation.from_matrix(root_mirrored).as_rotvec()
    origin = clip.trans[0] * [1.0, 1.0, 0.0]
    trans = (clip.trans - origin) @ world.T + origin
    name = clip.name[: -len(MIRROR_SUFFIX)] if clip.name.endswith(MIRROR_SUFFIX) else clip.name
    suffix = "" if clip.name.endswith(MIRROR_SUFFIX) else MIRROR_SUFFIX
    held = None if clip.held is None else clip.held[:, ::-1].copy()
    return MotionClip(
        name + suffix, clip.style, poses.astype(np.float32), trans.astype(np.float32), held
    )
