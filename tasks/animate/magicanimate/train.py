"""Fine-tune the face-attention adapter with the standard noise-prediction loss.

Everything of MagicAnimate stays frozen; only `pipe.face` (face encoder + added attentions)
learns. One step: encode a clip's frames to latents, noise them at a random timestep
(DDPM forward process, Ho et al. 2020 eq. 4), run the reference attention (clean reference at
that timestep) and the DensePose ControlNet as in inference (conditional branch only), and
regress the noise (eq. 14). Checkpoints carry the adapter config, so `load_pipeline` rebuilds it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from tasks.animate.magicanimate.pipeline import MagicAnimatePipeline, controlnet_image

log = logging.getLogger("music2dance.train_animator")
CHECKPOINT = "face_adapter.pt"  # what `--set animate.face_adapter=` takes


@dataclass(frozen=True)
class TrainingClip:
    """One training window: frames and DensePose (f, H, W, 3) uint8, reference (H, W, 3), face."""

    frames: np.ndarray
    densepose: np.ndarray
    reference: np.ndarray
    face: np.ndarray


@dataclass(frozen=True)
class FaceTrainConfig:
    learning_rate: float = 1e-4
    weight_decay: float = 1e-2
    mixed_precision: str = "no"  # no | fp16 | bf16 (autocast; weights stay fp32)
    gradient_checkpointing: bool = False


class FaceAdapterTrainer:
    """Optimises `pipe.face` only; `step` returns the loss of one clip."""

    def __init__(self, pipe: MagicAnimatePipeline, config: FaceTrainConfig) -> None:
        if pipe.face is None:
            raise ValueError("the pipeline has no face adapter: pass a face_encoder")
        if config.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be no/fp16/bf16, got {config.mixed_precision}")
        self.pipe = pipe
        self.config = config
        self.global_step = 0
        for model in (pipe.vae, pipe.unet, pipe.controlnet, pipe.appearance_encoder):
            model.requires_grad_(False)
        pipe.face.requires_grad_(True)
        pipe.face.train()
        if config.gradient_checkpointing:
            pipe.unet.enable_gradient_checkpointing()
            pipe.unet.train()  # diffusers checkpoints only in training mode (no dropout here)
        self.optimizer = torch.optim.AdamW(
            pipe.face.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )

    def _autocast(self) -> torch.autocast:
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.config.mixed_precision)
        return torch.autocast(
            self.pipe.device.type, dtype=dtype, enabled=self.config.mixed_precision != "no"
        )

    def loss(
        self, clip: TrainingClip, text: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Noise-prediction MSE of one clip at one random timestep."""
        pipe = self.pipe
        with torch.no_grad():
            x0 = pipe.encode_images(clip.frames)  # (f, 4, h, w)
            ref = pipe.encode_images(clip.reference[None])
            face_latents = pipe.encode_face_latents(clip.face)
        num_train = pipe.scheduler.config.num_train_timesteps
        t = torch.randint(0, num_train, (1,), generator=generator).to(pipe.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0)
        xt = pipe.scheduler.add_noise(x0, noise, t)  # sqrt(a_t) x0 + sqrt(1 - a_t) eps
        pipe.reference.write(ref, t, text)
        pipe.reference.state.uncond_rows = 0
        pipe.face.state.uncond_rows = 0
        with self._autocast():
            pipe.face.set_tokens(pipe.face_encoder(face_latents))
            with torch.no_grad():
                down, mid = pipe.controlnet(
                    xt,
                    t,
                    encoder_hidden_states=text.expand(len(xt), -1, -1),
                    controlnet_cond=controlnet_image(clip.densepose, pipe.device, xt.dtype),
                    return_dict=False,
                )
            # (f, 4, h, w) -> (1, 4, f, h, w)
            pred = pipe.unet(
                xt.transpose(0, 1)[None],
                t,
                encoder_hidden_states=text,
                down_block_additional_residuals=down,
                mid_block_additional_residual=mid,
                return_dict=False,
            )[0]
        # the reference banks stay until backward: gradient checkpointing re-reads them
        return F.mse_loss(pred[0].transpose(0, 1).float(), noise)

    def step(
        self, clip: TrainingClip, text: torch.Tensor, generator: torch.Generator | None = None
    ) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(clip, text, generator)
        loss.backward()
        self.pipe.reference.clear()
        self.optimizer.step()
        self.global_step += 1
        return float(loss.detach())

    def save(self, path: str | Path) -> None:
        """Adapter weights + encoder config (what `load_pipeline(face_adapter=)` reads) + resume."""
        torch.save(
            {
                "config": dict(self.pipe.face_encoder.config),
                "state_dict": self.pipe.face.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "global_step": self.global_step,
                "train_config": asdict(self.config),
                "reduced_levels": getattr(self.pipe, "reduced_levels", 0),
            },
            path,
        )

    def resume(self, path: str | Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.pipe.face.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.global_step = int(state["global_step"])


class ClipSource(Protocol):
    def sample(self, index: int) -> TrainingClip: ...


def step_generator(seed: int, step: int) -> torch.Generator:
    """Timestep and noise of `step`: a function of (seed, step) only, so resuming is exact."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def save_checkpoint(trainer: FaceAdapterTrainer, out: Path) -> Path:
    """out/face_adapter.pt, replaced atomically: a kill mid-save leaves the previous one."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{CHECKPOINT}.{os.getpid()}"
    trainer.save(tmp)
    os.replace(tmp, out / CHECKPOINT)
    return out / CHECKPOINT


def train_face_adapter(
    trainer: FaceAdapterTrainer,
    data: ClipSource,
    text: torch.Tensor,
    *,
    steps: int,
    out: Path,
    save_every: int,
    seed: int,
) -> list[float]:
    """Train from `trainer.global_step` up to `steps`, checkpointing every `save_every` steps
    and at the end; returns this call's losses."""
    from tqdm.auto import tqdm

    losses = []
    bar = tqdm(range(trainer.global_step, steps), initial=trainer.global_step, total=steps)
    for step in bar:
        losses.append(trainer.step(data.sample(step), text, step_generator(seed, step)))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if trainer.global_step % save_every == 0 or trainer.global_step == steps:
            path = save_checkpoint(trainer, out)
            log.info("step %d: loss %.4f, saved %s", trainer.global_step, losses[-1], path)
    return losses
