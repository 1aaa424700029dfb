"""Music features of any length -> an EDGE dance: windows, sampling, unnormalise, merge, FK."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tasks.body.skeleton import (
    NUM_JOINTS,
    axis_angle_from_6d,
    forward_kinematics,
)
from tasks.motion.edge.checkpoint import EdgeWeights
from tasks.motion.edge.diffusion import (
    Constraint,
    DDIMSampler,
    DDPMSampler,
    GaussianDiffusion,
    make_denoiser,
    sample,
)
from tasks.motion.edge.editing import Edit, constraint_arrays
from tasks.motion.edge.longform import ROT, WINDOW, merge_windows, num_windows, split_windows
from tasks.motion.edge.precision import sampling_dtype

log = logging.getLogger(__name__)

MIN_FRAMES = 60  # 2 s at 30 fps
SAMPLERS = ("ddim", "ddpm")


@dataclass(frozen=True)
class EdgeMotion:
    """A generated dance at 30 fps, z-up world, metres."""

    motion151: np.ndarray  # (T, 151) float32 unnormalised (contacts, root, 24 x 6D)
    poses: np.ndarray  # (T, 24, 3) float32 axis-angle
    trans: np.ndarray  # (T, 3) float32 root position
    joints: np.ndarray  # (T, 24, 3) float32 FK joint positions


def check_inputs(weights: EdgeWeights, features: np.ndarray, sampler: str, steps: int) -> None:
    """Raise ValueError naming the fix for features or settings the model cannot use."""
    cfg = weights.model.config
    if features.ndim != 2 or features.shape[1] != cfg.cond_feature_dim:
        kind = "Jukebox (4800-d)" if cfg.cond_feature_dim == 4800 else f"{cfg.cond_feature_dim}-d"
        raise ValueError(
            f"music features have shape {features.shape}; this checkpoint needs {kind} features "
            "per frame (the released EDGE checkpoint needs Jukebox features: use a checkpoint "
            "trained on the 35-d baseline features, or compute Jukebox features)"
        )
    if features.shape[0] < MIN_FRAMES:
        raise ValueError(
            f"music is {features.shape[0] / 30:.2f} s long; EDGE needs at least 2 s of music"
        )
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler {sampler!r} is not one of {SAMPLERS}")
    if not 1 <= steps <= 1000:
        raise ValueError(f"steps={steps} must be within 1..1000")


def sample_windows(
    weights: EdgeWeights,
    cond: Tensor,
    *,
    seed: int,
    guidance: float,
    steps: int,
    sampler: str,
    parity: bool,
    precision: str,
    constraint: Constraint | None = None,
    device: str = "cpu",
) -> Tensor:
    """Normalised windows (n, 150, 151) for music windows cond (n, 150, C).

    parity=True runs the official operation order in fp32; otherwise the fast path (one batch
    for the guided pair, music encoded once) in `precision` (`sampling_dtype`: bf16 autocast
    where the hardware has it). Noise comes from a CPU generator seeded with `seed`, in the
    official call order, so both paths draw the same numbers.
    """
    model = weights.model.to(device)
    diffusion = GaussianDiffusion().to(device)
    chosen = DDIMSampler(diffusion, steps) if sampler == "ddim" else DDPMSampler(diffusion)
    generator = torch.Generator().manual_seed(seed)
    shape = (cond.shape[0], WINDOW, model.config.nfeats)
    dtype = sampling_dtype(precision, device, parity)
    # no_grad, not inference_mode: under inference_mode autocast re-casts every weight to bf16
    # on every call (its cast cache is off there), 12% of a bf16 step on CPU
    with (
        torch.no_grad(),
        torch.autocast(
            torch.device(device).type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16
        ),
    ):
        denoiser = make_denoiser(model, cond.to(device), fast=not parity)
        x = sample(
            denoiser,
            chosen,
            shape,
            guidance=guidance,
            generator=generator,
            constraint=constraint,
            device=device,
        )
    return x.float().cpu()


def generate(
    weights: EdgeWeights,
    music: np.ndarray,
    *,
    seed: int,
    guidance: float,
    steps: int,
    sampler: str,
    parity: bool,
    precision: str,
    num_frames: int | None = None,
    edit: Edit | None = None,
    device: str = "cpu",
) -> EdgeMotion:
    """Dance for music features at 30 fps: per frame (T, C), T >= 60, cut here into 5 s windows
    at 2.5 s stride (the tail padded by repeating the last frame); or already cut (n, 150, C),
    as Jukebox features are (each 5 s slice extracted on its own), with `num_frames`. The
    output has T (or num_frames) frames."""
    # 1. check inputs, cut windows
    if music.ndim == 2:
        check_inputs(weights, music, sampler, steps)
        num_frames, windows = music.shape[0], split_windows(music.astype(np.float32))
    else:
        if num_frames is None or music.shape[0] != num_windows(num_frames):
            raise ValueError(f"{music.shape[0]} music windows do not cover {num_frames} frames")
        check_inputs(weights, music[0], sampler, steps)
        if num_frames < MIN_FRAMES:
            raise ValueError(f"music is {num_frames / 30:.2f} s; EDGE needs at least 2 s of music")
        windows = music
    norm = weights.normalizer
    cond = torch.from_numpy(windows.astype(np.float32))
    log.info("EDGE: %d frames -> %d windows, %s, parity=%s", num_frames, len(cond), sampler, parity)
    # 2. editing constraint, normalised and cut into the same windows
    constraint = None
    if edit is not None:
        mask, value = constraint_arrays(edit, num_frames)
        constraint = Constraint(
            mask=torch.from_numpy(split_windows(mask, pad="constant")).to(device),
            value=torch.from_numpy(split_windows(norm.normalize(value).astype(np.float32))).to(
                device
            ),
        )
    # 3. denoise all windows together
    out = sample_windows(
        weights,
        cond,
        seed=seed,
        guidance=guidance,
        steps=steps,
        sampler=sampler,
        parity=parity,
        precision=precision,
        constraint=constraint,
        device=device,
    )
    # 4. unnormalise, merge the overlaps, crop to the song
    merged = merge_windows(norm.unnormalize(out.numpy().astype(np.float64)))[:num_frames]
    return motion_from_151(merged)


def motion_from_151(motion151: np.ndarray) -> EdgeMotion:
    """(T, 151) unnormalised -> EdgeMotion with axis-angle poses and FK joints."""
    t = motion151.shape[0]
    poses = axis_angle_from_6d(motion151[:, ROT].reshape(t, NUM_JOINTS, 6))
    trans = motion151[:, 4:7]
    joints = forward_kinematics(poses, trans)
    return EdgeMotion(
        motion151=motion151.astype(np.float32),
        poses=poses.astype(np.float32),
        trans=trans.astype(np.float32),
        joints=joints.astype(np.float32),
    )
