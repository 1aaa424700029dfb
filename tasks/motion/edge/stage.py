"""The motion stage's EDGE branch: audio artifact + params -> poses and root translation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tasks.audio.edge_features import edge_windows_of_file
from tasks.base import InputError, StageContext
from tasks.body.skeleton import forward_kinematics, to_motion151
from tasks.motion.edge.checkpoint import EdgeWeights, load_edge
from tasks.motion.edge.editing import Edit, parse_joints
from tasks.motion.edge.generate import generate
from tasks.motion.edge.jukebox import file_windows, jukemirlib_extractor
from tasks.motion.edge.longform import split_windows


def read_reference(path: str | Path) -> np.ndarray:
    """(T, 151) unnormalised motion from an .npz holding `motion151` or `poses` + `trans`."""
    path = Path(path).expanduser()
    try:
        with np.load(path, allow_pickle=False) as data:
            if "motion151" in data:
                return data["motion151"].astype(np.float64)
            poses = data["poses"].reshape(-1, 24, 3).astype(np.float64)
            trans = data["trans"].astype(np.float64)
    except (OSError, KeyError, ValueError) as err:
        raise InputError(
            f"edit reference {path} is not an .npz with motion151 or poses+trans ({err}); "
            "export one with `music2dance export --stage motion --format npz`"
        ) from err
    return to_motion151(poses, trans, forward_kinematics(poses, trans)).astype(np.float64)


def edit_from_params(params: Mapping[str, Any], fps: int) -> Edit | None:
    """An Edit from the edit_* params, or None when no reference is given."""
    if not params["edit_reference"]:
        return None
    try:
        joints = parse_joints(params["edit_joints"])
    except ValueError as err:
        raise InputError(f"param motion.edit_joints: {err}") from err
    return Edit(
        reference=read_reference(params["edit_reference"]),
        joints=joints,
        root=bool(params["edit_root"]),
        keyframes=tuple(round(float(s) * fps) for s in params["edit_keyframes"]),
    )


def _device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def jukebox_from_audio_file(ctx: StageContext, num_frames: int) -> np.ndarray:
    """(n, 150, 4800) Jukebox windows of the song, resumable through the per-window cache."""
    extract = jukemirlib_extractor(ctx.params["jukebox_dir"])
    return file_windows(ctx.audio_path, num_frames, extract)


def edge_features_from_artifact(ctx: StageContext, num_frames: int) -> np.ndarray:
    """(n, 150, 35) EDGE per-slice features: the audio artifact's (`audio.features=edge`), or
    computed here from the music file."""
    audio = ctx.upstream["audio"]
    if "edge_windows" in audio:
        return np.asarray(audio["edge_windows"][:], dtype=np.float32)
    ctx.log.info("EDGE: computing EDGE's per-slice baseline features (audio.features=edge)")
    return edge_windows_of_file(ctx.audio_path, num_frames=num_frames)


def music_windows(ctx: StageContext, weights: EdgeWeights, num_frames: int) -> np.ndarray:
    """(n, 150, C) music windows in the recipe the checkpoint was trained on."""
    if weights.features == "jukebox":  # the released checkpoint
        return jukebox_from_audio_file(ctx, num_frames)
    if weights.features == "edge":  # an official 35-d checkpoint: EDGE's own slicing
        return edge_features_from_artifact(ctx, num_frames)
    features = ctx.upstream["audio"]["features"][:]  # ours: the whole-song features
    return split_windows(np.asarray(features, dtype=np.float32))


def sample_from_artifact(ctx: StageContext) -> tuple[np.ndarray, np.ndarray]:
    """Poses (T, 24, 3) and trans (T, 3) float32 from music in the checkpoint's feature recipe."""
    params = ctx.params  # checked before the run: SPEC.check_model
    audio = ctx.upstream["audio"]
    fps, num_frames = int(audio.attrs["fps"]), int(audio.attrs["num_frames"])
    weights = load_edge(params["checkpoint"])
    windows = music_windows(ctx, weights, num_frames)
    try:
        motion = generate(
            weights,
            windows,
            num_frames=num_frames,
            seed=int(params["seed"]),
            guidance=float(params["guidance"]),
            steps=int(params["steps"]),
            sampler=params["sampler"],
            parity=bool(params["parity"]),
            precision=params["precision"],
            edit=edit_from_params(params, fps),
            device=_device(params["device"]),
        )
    except ValueError as err:
        raise InputError(str(err)) from err
    return motion.poses, motion.trans
