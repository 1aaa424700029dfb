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
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from tasks.animate.magicanimate.convert import convert_official_unet, load_converted
from tasks.animate.magicanimate.face import FaceEncoder
from tasks.animate.magicanimate.loading import is_pruned_appearance_key
from tasks.animate.magicanimate.pipeline import MagicAnimatePipeline, magicanimate_scheduler
from tasks.animate.magicanimate.unet import MagicAnimateUNet, build_video_unet
from tests.tasks.animate.magicanimate.ma_seeding import (
    TINY_2D,
    TINY_TEXT,
    TINY_VAE,
    seeded_state_dict,
)

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
    load_converted(encoder, seeded_state_dict(shapes, 3), may_miss=is_pruned_appearance_key)
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


def tiny_release(root: Path) -> Path:
    """The official `pretrained_models/` layout with tiny seeded weights; returns MagicAnimate/."""
    weights = root / "MagicAnimate"
    encoder = weights / "appearance_encoder"
    encoder.mkdir(parents=True)  # as released: only the official (pruned) keys
    (encoder / "config.json").write_text(json.dumps(dict(tiny_appearance_encoder().config)))
    encoder_shapes = official_shapes(golden("reference_attention.npz")["encoder_keys"])
    save_file(seeded_state_dict(encoder_shapes, 3), encoder / "diffusion_pytorch_model.safetensors")
    tiny_controlnet().save_pretrained(weights / "densepose_controlnet")
    (weights / "temporal_attention").mkdir(parents=True)
    shapes = official_shapes(golden("unet_forward.npz")["official_keys"])
    torch.save(seeded_state_dict(shapes, 1), weights / "temporal_attention/temporal_attention.ckpt")
    sd15 = root / "stable-diffusion-v1-5"
    (sd15 / "unet").mkdir(parents=True)
    (sd15 / "unet/config.json").write_text(json.dumps(TINY_2D))
    text_config = CLIPTextConfig(**TINY_TEXT)
    torch.manual_seed(0)
    CLIPTextModel(text_config).save_pretrained(sd15 / "text_encoder")
    vocab = root / "vocab.json"
    vocab.write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}))
    (root / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(vocab), str(root / "merges.txt"), model_max_length=8, pad_token="!"
    )
    tokenizer.save_pretrained(sd15 / "tokenizer")
    tiny_vae().save_pretrained(root / "sd-vae-ft-mse")
    return weights
