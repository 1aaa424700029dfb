"""SMPL bodies from the user's model files, loaded without chumpy and posed like the built-in body.

SMPL model files (`SMPL_NEUTRAL.pkl`, `basicModel_*_lbs_10_207_0_v1.0.0.pkl`, or a plain `.npz`)
hold v_template (V, 3), shapedirs (V, 3, B), posedirs (V, 3, 207), J_regressor (24, V) (a scipy
sparse matrix in the .pkl), weights (V, 24), kintree_table (2, 24) and f (F, 3); the real model has
V = 6,890 and F = 13,776. The official .pkl files are Python 2 pickles holding chumpy objects, and
chumpy does not import on Python 3.11, so `read_model` unpickles them with a restricted unpickler
that only builds numpy arrays, maps chumpy and scipy.sparse classes to inert stand-ins and refuses
every other global; `.npz` files load with `allow_pickle=False`. `music2dance convert-smpl` writes
the plain `.npz` once.

Posing (the choice): the body is shaped with smplx's own blend-shape and joint-regressor
functions (v_shaped = v_template + shapedirs . betas, J = J_regressor v_shaped), gets SMPL's
pose-corrective offsets (posedirs . (R_k - I), k = 1..23), then is skinned with SMPL's weights on
the motion's own joint transforms (EDGE's FK with fixed bone offsets, tasks/render/skinning.py)
instead of smplx's kinematic chain over the regressed joints. So every SMPL part follows
`motion/joints` exactly, `render/joints2d` lies on the mesh, and the built-in and SMPL bodies share
one convention: z-up world, root rotation already holding Rx(+90 deg), `trans` = the pelvis
position. The price: SMPL's regressed bone lengths (which depend on betas) differ from EDGE's fixed
ones by a few centimetres, absorbed by the skinning blend at the joints; extreme betas stretch.
"""

from __future__ import annotations

import codecs
import copyreg
import logging
import os
import pickle
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import smplx.lbs
import torch

from tasks.base import InputError
from tasks.body.skeleton import NUM_JOINTS, PARENTS, rotation_matrices
from tasks.render.body import Body
from tasks.render.skinning import global_transforms
from tasks.render.smpl_parts import parts_from_uv, parts_from_weights, read_uv_processed

log = logging.getLogger(__name__)

MODEL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
NUM_POSE_BASIS = 9 * (NUM_JOINTS - 1)  # 207: (R_k - I) of joints 1..23
# Names looked up inside render.smpl_dir, first match wins (smplx's layout included).
MODEL_NAMES = (
    "SMPL_NEUTRAL.npz",
    "SMPL_NEUTRAL.pkl",
    "smpl/SMPL_NEUTRAL.npz",
    "smpl/SMPL_NEUTRAL.pkl",
    "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl",
    "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl",
)


# ---------------------------------------------------------------------------------------------
# Restricted unpickling of the official .pkl files.


class _Stub:
    """Inert stand-in for a chumpy or scipy.sparse object: keeps its pickled state, runs nothing."""

    origin = ""
    state: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> _Stub:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state


@cache
def _stub_class(module: str, name: str) -> type[_Stub]:
    return type(name, (_Stub,), {"origin": f"{module}.{name}"})


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 pickles of numpy arrays wrap raw bytes as `_codecs.encode(str, 'latin1')`."""
    if encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


_NUMPY_GLOBALS = {
    "_reconstruct": np.empty(0).__reduce__()[0],
    "scalar": np.float64(0).__reduce__()[0],
    "ndarray": np.ndarray,
    "dtype": np.dtype,
}
_SPARSE_MODULES = {f"scipy.sparse.{m}" for m in ("csc", "_csc", "csr", "_csr")}


class _ModelUnpickler(pickle.Unpickler):
    """Builds numpy arrays and inert stubs only; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and (
            name in _NUMPY_GLOBALS
        ):
            return _NUMPY_GLOBALS[name]
        if module == "copyreg" and name == "_reconstructor":
            return copyreg._reconstructor
        if module == "builtins" and name == "object":
            return object
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        if module == "chumpy" or module.startswith("chumpy."):
            return _stub_class(module, name)
        if module in _SPARSE_MODULES and name.endswith("_matrix"):
            return _stub_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _plain(value: Any, key: str, path: Path) -> Any:
    """numpy array for a chumpy leaf (its `x`) or a scipy sparse stub; other values unchanged."""
    if not isinstance(value, _Stub):
        return value
    state = value.state if isinstance(value.state, dict) else {}
    if value.origin.startswith("chumpy") and "x" in state:
        return np.asarray(state["x"])
    if value.origin.startswith("scipy.sparse") and {"data", "indices", "indptr"} <= set(state):
        shape = state.get("_shape", state.get("shape"))
        build = scipy.sparse.csr_matrix if "csr" in value.origin else scipy.sparse.csc_matrix
        matrix = build((state["data"], state["indices"], state["indptr"]), shape=shape)
        return matrix.toarray()
    raise InputError(f"{path}: {key} is a {value.origin} object that holds no plain array")


def _read_pickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = _ModelUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError) as err:
        raise InputError(f"{path}: not a readable SMPL model pickle ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: an SMPL model pickle holds a dict, found {type(data).__name__}")
    return {key: _plain(value, key, path) for key, value in data.items() if key in MODEL_KEYS}


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in MODEL_KEYS if key in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a readable SMPL .npz of plain arrays ({err})") from None


# ---------------------------------------------------------------------------------------------
# Model files.


@dataclass(frozen=True)
class SmplModel:
    """Plain SMPL arrays (float64 unless noted); V vertices, B shape components."""

    v_template: np.ndarray  # (V, 3) metres, y-up, facing +z
    shapedirs: np.ndarray  # (V, 3, B)
    posedirs: np.ndarray  # (V, 3, 207)
    J_regressor: np.ndarray  # (24, V) dense
    weights: np.ndarray  # (V, 24)
    kintree_table: np.ndarray  # (2, 24) int64, row 0 = parents
    f: np.ndarray  # (F, 3) int32

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: getattr(self, key) for key in MODEL_KEYS}


def find_model_file(smpl_dir: str | os.PathLike) -> Path:
    """The model file: `smpl_dir` itself if it is a file, else the first of MODEL_NAMES inside it.
    (An unset render.smpl_dir and its $MUSIC2DANCE_SMPL_DIR fallback are the planner's: the render
    stage's SPEC declares them.)"""
    path = Path(smpl_dir).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise InputError(f"SMPL model path {path} does not exist: point render.smpl_dir at it")
    for name in MODEL_NAMES:
        if (path / name).is_file():
            return path / name
    raise InputError(
        f"no SMPL model file in {path}: expected one of {', '.join(MODEL_NAMES)} "
        "(or point render.smpl_dir at the .pkl/.npz file itself)"
    )


def _check_shape(path: Path, key: str, array: np.ndarray, shape: tuple[int | None, ...]) -> None:
    ok = array.ndim == len(shape) and all(
        s is None or s == a for s, a in zip(shape, array.shape, strict=False)
    )
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{path}: {key} has shape {array.shape}, expected {want}")


def read_model(path: str | os.PathLike) -> SmplModel:
    """Load and validate an SMPL .pkl (chumpy-free) or .npz; errors name the file and the key."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"SMPL model file {path} does not exist")
    raw = _read_npz(path) if path.suffix == ".npz" else _read_pickle(path)
    missing = [key for key in MODEL_KEYS if key not in raw]
    if missing:
        raise InputError(f"{path}: not an SMPL model, missing {', '.join(missing)}")
    try:
        arrays = {key: np.asarray(raw[key], dtype=np.float64) for key in MODEL_KEYS}
    except (TypeError, ValueError) as err:
        raise InputError(f"{path}: SMPL arrays must be numeric ({err})") from None
    num_verts = arrays["v_template"].shape[0]
    _check_shape(path, "v_template", arrays["v_template"], (None, 3))
    _check_shape(path, "shapedirs", arrays["shapedirs"], (num_verts, 3, None))
    _check_shape(path, "posedirs", arrays["posedirs"], (num_verts, 3, NUM_POSE_BASIS))
    _check_shape(path, "J_regressor", arrays["J_regressor"], (NUM_JOINTS, num_verts))
    _check_shape(path, "weights", arrays["weights"], (num_verts, NUM_JOINTS))
    _check_shape(path, "kintree_table", arrays["kintree_table"], (2, NUM_JOINTS))
    _check_shape(path, "f", arrays["f"], (None, 3))
    for key, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise InputError(f"{path}: {key} holds NaN or infinite values")
    parents = arrays["kintree_table"][0].astype(np.int64)
    parents[0] = -1  # SMPL stores the root's parent as uint32 -1
    if tuple(parents) != PARENTS:
        raise InputError(
            f"{path}: kintree_table is not SMPL's 24-joint tree (SMPL-H/X unsupported)"
        )
    faces = arrays["f"]
    if faces.min() < 0 or faces.max() >= num_verts or np.any(faces != np.round(faces)):
        raise InputError(f"{path}: f must hold vertex indices in 0..{num_verts - 1}")
    kintree = np.stack([parents, np.arange(NUM_JOINTS)])
    return SmplModel(**{**arrays, "kintree_table": kintree, "f": faces.astype(np.int32)})


def convert_model(src: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the model as a plain compressed .npz (dense J_regressor, no pickles) and return it."""
    model = read_model(src)
    out = Path(out).expanduser()
    if out.suffix != ".npz":
        raise InputError(f"{out}: the converted SMPL model must be a .npz file")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **model.arrays())
    return out


# ---------------------------------------------------------------------------------------------
# Shaped and posed body.


@dataclass(frozen=True)
class SmplBody(Body):
    """`Body` plus SMPL's pose-corrective basis, (207, V * 3) float32 (smplx's layout)."""

    posedirs: np.ndarray


def parse_betas(betas: list | tuple | str | None, num_shapes: int) -> np.ndarray:
    """(B,) shape coefficients from a list of numbers or a comma string; empty: the mean shape."""
    if betas is None or (isinstance(betas, str) and not betas.strip()):
        values: list = []
    elif isinstance(betas, str):
        values = betas.split(",")
    else:
        values = list(betas)
    try:
        out = np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"render.betas={betas!r} must be a list of numbers, e.g. [1.0, -0.5]"
        ) from None
    if len(out) > num_shapes or not np.all(np.isfinite(out)):
        raise InputError(
            f"render.betas={betas!r}: at most {num_shapes} finite numbers for this SMPL model"
        )
    return out


def shaped_rest(model: SmplModel, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices (V, 3) and joints (24, 3) of shape `betas` (B,), via smplx's LBS helpers."""
    shapedirs = torch.from_numpy(model.shapedirs[:, :, : len(betas)])
    offsets = smplx.lbs.blend_shapes(torch.from_numpy(betas)[None], shapedirs)[0]
    vertices = torch.from_numpy(model.v_template) + offsets
    joints = smplx.lbs.vertices2joints(torch.from_numpy(model.J_regressor), vertices[None])[0]
    return vertices.numpy(), joints.numpy()


def smpl_body(model: SmplModel, betas: np.ndarray, face_parts: np.ndarray) -> SmplBody:
    """The shaped SMPL body; face_parts (F,) uint8 DensePose labels (tasks/render/smpl_parts)."""
    vertices, joints = shaped_rest(model, betas)
    num_verts = len(vertices)
    posedirs = model.posedirs.reshape(num_verts * 3, NUM_POSE_BASIS).T
    return SmplBody(
        vertices=vertices,
        faces=model.f,
        face_parts=np.asarray(face_parts, dtype=np.uint8),
        weights=model.weights,
        joints=joints,
        posedirs=np.ascontiguousarray(posedirs, dtype=np.float32),
    )


def pose_smpl(
    body: SmplBody, poses: np.ndarray, trans: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posed vertices (T, V, 3) float32 and joints (T, 24, 3) in the z-up world.

    poses (T, 24, 3) axis-angle, trans (T, 3) root position in metres. Pose correctives use the
    local rotations of joints 1..23 as SMPL does; skinning uses EDGE's FK (see the module doc).
    """
    poses = np.asarray(poses, dtype=np.float64)
    local = rotation_matrices(poses[:, 1:])  # (T, 23, 3, 3)
    feature = (local - np.eye(3)).reshape(len(poses), NUM_POSE_BASIS).astype(np.float32)
    corrected = body.vertices.astype(np.float32) + (feature @ body.posedirs).reshape(
        len(poses), -1, 3
    )
    rot, pos = global_transforms(poses, trans)
    return _skin_frames(corrected, body.weights, body.joints, rot, pos), pos.astype(np.float32)


def _skin_frames(
    vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray, rot: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """LBS of per-frame rest vertices (T, V, 3): v' = sum_k w_k (R_k (v - J_k) + p_k), float32.

    Same map as tasks/render/skinning.skin, whose rest vertices are shared by all frames.
    """
    # Per-joint affine transforms (T, 24, 3, 4), blended per vertex (T, V, 3, 4).
    offset = pos - np.einsum("tkij,kj->tki", rot, joints)
    transforms = np.concatenate([rot, offset[..., None]], axis=-1).astype(np.float32)
    blended = np.einsum("vk,tkij->tvij", weights.astype(np.float32), transforms, optimize=True)
    return np.einsum("tvij,tvj->tvi", blended[..., :3], vertices) + blended[..., 3]


def load_smpl_body(
    smpl_dir: str | os.PathLike,
    betas: list | tuple | str | None,
    uv_path: str | os.PathLike | None = None,
) -> SmplBody:
    """The SMPL body for render.body=smpl: model file, betas, and DensePose labels.

    Labels come from `uv_path` (UV_Processed.mat) when given, else from the skinning weights of
    the mean shape (so they do not change with betas); see tasks/render/smpl_parts.py.
    """
    path = find_model_file(smpl_dir)
    model = read_model(path)
    shape = parse_betas(betas, model.shapedirs.shape[2])
    if uv_path is not None:
        face_parts = parts_from_uv(read_uv_processed(uv_path), model.f)
    else:
        vertices, joints = shaped_rest(model, np.zeros(0))
        face_parts = parts_from_weights(vertices, model.f, model.weights, joints)
    log.info("SMPL body from %s (%d vertices, %d faces)", path, len(model.v_template), len(model.f))
    return smpl_body(model, shape, face_parts)
