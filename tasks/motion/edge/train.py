"""Train or fine-tune EDGE: the official losses and weights, EMA, AdamW, resumable state.

Loss (EDGE `p_losses`, all MSE in normalised space, x0 target, uniform t):
    0.636 * reconstruction + 2.964 * velocity + 0.646 * FK joints + 10.942 * foot skating,
where foot skating penalises foot-joint velocity on frames the model itself predicts in contact
(> 0.95). The optimizer is AdamW (the official Adan is not a PyTorch built-in), lr 4e-4,
weight decay 0.02; the EMA (decay 0.9999) is what inference loads.

Training data: a folder of `.npz` clips at 30 fps, z-up (AIST++ as EDGE preprocesses it), each
with `poses` (T, 24, 3) or (T, 72) axis-angle, `trans` (T, 3) metres and `features` (T, C)
music features; clips are cut into 5 s windows at 0.5 s stride (the official training stride).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from tasks.body.skeleton import (
    FOOT_JOINTS,
    NUM_JOINTS,
    OFFSETS,
    PARENTS,
    forward_kinematics,
    to_motion151,
)
from tasks.motion.edge.checkpoint import EdgeWeights, MinMaxNormalizer, load_edge, save_converted
from tasks.motion.edge.diffusion import GaussianDiffusion
from tasks.motion.edge.longform import WINDOW
from tasks.motion.edge.model import DanceDecoder, EdgeConfig

log = logging.getLogger(__name__)

LOSS_WEIGHTS = (0.636, 2.964, 0.646, 10.942)  # reconstruction, velocity, FK, foot (official)
TRAIN_STRIDE = 15  # frames between training windows (0.5 s)
STATE_FILE = "train_state.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; defaults are the official ones (batch size for one GPU)."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 4e-4
    weight_decay: float = 0.02
    ema_decay: float = 0.9999
    cond_drop_prob: float = 0.25  # classifier-free guidance training
    seed: int = 0


def load_clips(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised motion windows (N, 150, 151) and music windows (N, 150, C) from .npz clips."""
    motions, conds = [], []
    for path in sorted(Path(folder).glob("*.npz")):
        with np.load(path, allow_pickle=False) as clip:
            poses = clip["poses"].reshape(-1, NUM_JOINTS, 3).astype(np.float64)
            trans, features = clip["trans"].astype(np.float64), clip["features"]
        motion = to_motion151(poses, trans, forward_kinematics(poses, trans))
        for start in range(0, min(len(motion), len(features)) - WINDOW + 1, TRAIN_STRIDE):
            motions.append(motion[start : start + WINDOW])
            conds.append(features[start : start + WINDOW])
    if not motions:
        raise ValueError(
            f"no 5 s training windows in {folder}: it needs .npz clips of >= 150 frames with "
            "poses, trans and features"
        )
    return np.stack(motions).astype(np.float32), np.stack(conds).astype(np.float32)


def fit_normalizer(motion: np.ndarray) -> MinMaxNormalizer:
    """Min-max scaler of every channel to (-1, 1) over all frames (constant channels: scale 1)."""
    flat = motion.reshape(-1, motion.shape[-1]).astype(np.float64)
    low, span = flat.min(axis=0), np.ptp(flat, axis=0)
    span[span < 10 * np.finfo(np.float32).eps] = 0.5
    scale = 2.0 / span
    return MinMaxNormalizer(scale.astype(np.float32), (-1.0 - low * scale).astype(np.float32))


def matrix_from_6d_torch(d6: Tensor) -> Tensor:
    """(..., 6) -> (..., 3, 3), Gram-Schmidt on the two rows (differentiable)."""
    b1 = F.normalize(d6[..., :3], dim=-1)
    b2 = F.normalize(d6[..., 3:] - (b1 * d6[..., 3:]).sum(-1, keepdim=True) * b1, dim=-1)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=-1)], dim=-2)


def fk_torch(rot6d: Tensor, root: Tensor) -> Tensor:
    """Joint positions (b, s, 24, 3) from 6D rotations (b, s, 24, 6) and root (b, s, 3)."""
    local = matrix_from_6d_torch(rot6d)
    offsets = torch.as_tensor(OFFSETS, dtype=rot6d.dtype, device=rot6d.device)
    world, positions = [local[:, :, 0]], [root]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        positions.append(positions[p] + world[p] @ offsets[j])
        world.append(world[p] @ local[:, :, j])
    return torch.stack(positions, dim=2)


def edge_loss(
    model: DanceDecoder, diffusion: GaussianDiffusion, x0: Tensor, cond: Tensor, drop: float
) -> tuple[Tensor, Tensor]:
    """Weighted total and the 4 weighted terms for normalised windows x0 (b, 150, 151)."""
    b = x0.shape[0]
    t = torch.randint(0, diffusion.num_steps, (b,), device=x0.device)
    noise = torch.randn_like(x0)
    x_t = (
        diffusion.sqrt_alphas_cumprod[t, None, None] * x0
        + diffusion.sqrt_one_minus_alphas_cumprod[t, None, None] * noise
    )
    out = model(x_t, cond, t, cond_drop_prob=drop)
    recon = F.mse_loss(out, x0)
    contact, pred = out[..., :4], out[..., 4:]
    target = x0[..., 4:]
    velocity = F.mse_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])
    shape = (*pred.shape[:2], NUM_JOINTS, 6)
    joints = fk_torch(pred[..., 3:].reshape(shape), pred[..., :3])
    target_joints = fk_torch(target[..., 3:].reshape(shape), target[..., :3])
    fk = F.mse_loss(joints, target_joints)
    feet = joints[:, :, list(FOOT_JOINTS)]
    foot_v = torch.zeros_like(feet)
    foot_v[:, :-1] = feet[:, 1:] - feet[:, :-1]
    foot_v = foot_v * (contact > 0.95)[..., None]
    foot = foot_v.pow(2).mean()
    terms = torch.stack([recon, velocity, fk, foot]) * torch.tensor(LOSS_WEIGHTS)
    return terms.sum(), terms.detach()


def train(
    weights: EdgeWeights,
    motion: np.ndarray,
    cond: np.ndarray,
    config: TrainConfig,
    out_dir: Path,
    resume: bool = False,
) -> list[float]:
    """Optimise `weights.model` on windows; saves train_state.pt and the EMA as a convert folder.

    Every random draw (batches, t, noise, guidance drop, dropout) comes from the global torch
    generator seeded with `config.seed`; its state is saved, so a resumed run continues exactly.
    Returns the total loss of each step run.
    """
    out_dir = Path(out_dir)
    model = weights.model.train()
    diffusion = GaussianDiffusion()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    ema = AveragedModel(
        model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
    )
    data = torch.from_numpy(weights.normalizer.normalize(motion).astype(np.float32))
    music = torch.from_numpy(cond)
    start = 0
    torch.manual_seed(config.seed)
    if resume:
        state = torch.load(out_dir / STATE_FILE, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model_state_dict"])
        ema.module.load_state_dict(state["ema_state_dict"])
        ema.n_averaged.fill_(int(state["n_averaged"]))
        optimizer.load_state_dict(state["optimizer_state_dict"])
        torch.set_rng_state(state["rng_state"])
        start = int(state["step"])
    losses = []
    for step in range(start, config.steps):
        index = torch.randint(0, len(data), (min(config.batch_size, len(data)),))
        total, terms = edge_loss(model, diffusion, data[index], music[index], config.cond_drop_prob)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        ema.update_parameters(model)
        losses.append(float(total.detach()))
        log.info("step %d loss %.4f terms %s", step, losses[-1], terms.tolist())
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "ema_state_dict": ema.module.state_dict(),
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "normalizer": {
                "scale": torch.from_numpy(weights.normalizer.scale),
                "min": torch.from_numpy(weights.normalizer.min),
            },
            "config": asdict(model.config),
            "n_averaged": int(ema.n_averaged),
            "rng_state": torch.get_rng_state(),
            "step": config.steps,
        },
        out_dir / STATE_FILE,
    )
    save_converted(EdgeWeights(ema.module.eval(), weights.normalizer), out_dir / "ema")
    model.eval()
    return losses


def initial_weights(
    motion: np.ndarray, cond: np.ndarray, init: Path | None, out_dir: Path, resume: bool
) -> EdgeWeights:
    """Resume from out_dir, fine-tune from `init` (keeping its normalizer), or start fresh."""
    if resume:
        weights = load_edge(Path(out_dir) / STATE_FILE)
    elif init is not None:
        weights = load_edge(init)
    else:
        config = EdgeConfig(cond_feature_dim=cond.shape[-1])
        return EdgeWeights(DanceDecoder(config), fit_normalizer(motion))
    if weights.model.config.cond_feature_dim != cond.shape[-1]:
        raise ValueError(
            f"the checkpoint expects {weights.model.config.cond_feature_dim}-d music features, "
            f"the training clips have {cond.shape[-1]}-d (`music2dance convert-aist --features "
            "jukebox` makes 4800-d clips for the released checkpoint)"
        )
    return weights
