"""Tiny seeded MagicAnimate components shared by the tests (and the golden-value recipe).

Weights are drawn key by key, in sorted official-key order, from one seeded generator, so the
official code (see README.md) and ours start from identical numbers without storing them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

from tasks.animate.magicanimate.convert import convert_official_unet, load_converted
from tasks.animate.magicanimate.face import FaceEncoder
from tasks.animate.magicanimate.pipeline import MagicAnimatePipeline, magicanimate_scheduler
from tasks.animate.magicanimate.unet import MagicAnimateUNet, build_video_unet
from tests.tasks.animate.magicanimate.ma_seeding import TINY_2D, TINY_VAE, seeded_state_dict

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / name) as data:
        return dict(data)


def official_shapes(blob: np.ndarray) -> dict[str, list[int]]:
    """Official parameter names and shapes stored as a JSON byte blob in a golden file."""
    return json.loads(blob.tobytes().decode())


def tiny_video_unet() -> MagicAnimateUNet:
    """The golden video UNet: official keys (seed 1) converted into our model."""
    unet = build_video_unet(TINY_2D).eval()
    shapes = official_shapes(golden("unet_forward.npz")["official_keys"])
    load_converted(unet, convert_official_unet(seeded_state_dict(shapes, 1)))
    return unet


def tiny_appearance_encoder() -> UNet2DConditionModel:
    """The golden appearance encoder (seed 3); its pruned layers stay at random init."""
    encoder = UNet2DConditionModel(**TINY_2D).eval()
    shapes = official_shapes(golden("reference_attention.npz")["encoder_keys"])
    load_converted(encoder, seeded_state_dict(shapes, 3), allow_missing=True)
    return encoder


def tiny_controlnet() -> ControlNetModel:
    config = {k: v for k, v in TINY_2D.items() if k not in ("sample_size", "out_channels")}
    config.pop("up_block_types")
    controlnet = ControlNetModel(**config, conditioning_embedding_out_channels=(8, 8, 16, 16))
    shapes = official_shapes(golden("pipeline_steps.npz")["controlnet_keys"])
    load_converted(controlnet, seeded_state_dict(shapes, 5))
    return controlnet.eval()


def tiny_vae() -> AutoencoderKL:
    vae = AutoencoderKL(**TINY_VAE)
    load_converted(
        vae, seeded_state_dict(official_shapes(golden("pipeline_steps.npz")["vae_keys"]), 7)
    )
    return vae.eval()


def tiny_pipeline(face_encoder: FaceEncoder | None = None) -> MagicAnimatePipeline:
    return MagicAnimatePipeline(
        vae=tiny_vae(),
        unet=tiny_video_unet(),
        controlnet=tiny_controlnet(),
        appearance_encoder=tiny_appearance_encoder(),
        scheduler=magicanimate_scheduler(),
        face_encoder=face_encoder,
    )


def tiny_text() -> torch.Tensor:
    """The golden empty-prompt embedding (1, 8, 32) of the tiny CLIP text encoder."""
    return torch.from_numpy(golden("pipeline_steps.npz")["text"])
