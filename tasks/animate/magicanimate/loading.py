"""Load the official MagicAnimate release plus SD 1.5 and sd-vae-ft-mse from local folders.

Expected layout (the official `pretrained_models/`; `sd15` and `vae` default to siblings of
`weights`):

    <weights>/appearance_encoder/{config.json, *.safetensors}
    <weights>/densepose_controlnet/{config.json, *.safetensors}
    <weights>/temporal_attention/temporal_attention.ckpt
    <sd15>/{unet/config.json, text_encoder/, tokenizer/}  (unet weights only if ckpt lacks them)
    <vae>/{config.json, *.safetensors}
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from accelerate import init_empty_weights
from accelerate.utils import set_module_tensor_to_device
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
from safetensors.torch import load_file
from transformers import CLIPTextModel, CLIPTokenizer

from tasks.animate.magicanimate.convert import convert_official_unet, load_converted, named_keys
from tasks.animate.magicanimate.face import FaceEncoder
from tasks.animate.magicanimate.pipeline import MagicAnimatePipeline, magicanimate_scheduler
from tasks.animate.magicanimate.reduce import reduce_attention
from tasks.animate.magicanimate.unet import MagicAnimateUNet, build_video_unet
from tasks.base import InputError

log = logging.getLogger(__name__)

SD15_DIRNAME = "stable-diffusion-v1-5"
VAE_DIRNAME = "sd-vae-ft-mse"
ModelT = TypeVar("ModelT")


@dataclass(frozen=True)
class WeightPaths:
    """Where each released component lives."""

    weights: Path
    sd15: Path
    vae: Path

    @property
    def appearance_encoder(self) -> Path:
        return self.weights / "appearance_encoder"

    @property
    def controlnet(self) -> Path:
        return self.weights / "densepose_controlnet"

    @property
    def temporal_attention(self) -> Path:
        return self.weights / "temporal_attention" / "temporal_attention.ckpt"

    def required(self) -> dict[str, Path]:
        """Every path that must exist, by what it is."""
        return {
            "appearance_encoder/config.json": self.appearance_encoder / "config.json",
            "densepose_controlnet/config.json": self.controlnet / "config.json",
            "temporal_attention/temporal_attention.ckpt": self.temporal_attention,
            "SD 1.5 unet/config.json": self.sd15 / "unet" / "config.json",
            "SD 1.5 text_encoder/": self.sd15 / "text_encoder",
            "SD 1.5 tokenizer/": self.sd15 / "tokenizer",
            "sd-vae-ft-mse config.json": self.vae / "config.json",
        }


def resolve_weights(
    weights: str | Path, sd15: str | Path | None = None, vae: str | Path | None = None
) -> WeightPaths:
    """Check the folders; raise InputError listing every missing one at once. (An unset
    animate.weights is the planner's: the animate stage's SPEC declares it.)"""
    root = Path(weights).expanduser()
    paths = WeightPaths(
        weights=root,
        sd15=Path(sd15).expanduser() if sd15 else root.parent / SD15_DIRNAME,
        vae=Path(vae).expanduser() if vae else root.parent / VAE_DIRNAME,
    )
    missing = [f"{what} ({path})" for what, path in paths.required().items() if not path.exists()]
    if missing:
        raise InputError(
            "MagicAnimate weights incomplete, missing: " + "; ".join(missing) + ". Download "
            "zcxu-eric/MagicAnimate, stable-diffusion-v1-5 and sd-vae-ft-mse, or set "
            "animate.weights / animate.sd15 / animate.vae"
        )
    return paths


# The official appearance encoder replaced these modules by Identity/None (their output is never
# read), so its file lacks them: conv_norm_out, conv_out, and all of up_blocks.3.attentions.2
# except the norm1 whose output feeds the reference bank (and proj_in before it).
PRUNED_APPEARANCE_KEYS = re.compile(
    r"^(conv_norm_out|conv_out)\.|^up_blocks\.3\.attentions\.2\.(proj_out|transformer_blocks\.0\."
    r"(attn1\.to_(q|k|v|out\.0)|attn2|norm2|norm3|ff))\."
)


def is_pruned_appearance_key(key: str) -> bool:
    return PRUNED_APPEARANCE_KEYS.match(key) is not None


def _load_weights_file(folder: Path) -> dict[str, torch.Tensor]:
    """The diffusers weight file of a model folder (safetensors preferred)."""
    for name in ("diffusion_pytorch_model.safetensors", "model.safetensors"):
        if (folder / name).exists():
            return load_file(folder / name)
    for name in ("diffusion_pytorch_model.bin", "pytorch_model.bin"):
        if (folder / name).exists():
            return torch.load(folder / name, map_location="cpu", weights_only=True)
    raise InputError(f"no model weights (*.safetensors or *.bin) in {folder}")


def _weights_misfit(what: str, folder: Path, err: ValueError) -> InputError:
    return InputError(
        f"{what} weights in {folder} do not fit its config ({err}); download it again"
    )


def load_strict(cls: type[ModelT], folder: Path, what: str) -> ModelT:
    """`cls.from_pretrained(folder)` where a missing, unexpected or misshapen key is an error
    naming the keys (diffusers and transformers only warn, or fail later on a meta tensor)."""
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    problems = [
        f"{kind.replace('_', ' ')} {named_keys(keys)}"
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
        if (keys := {k if isinstance(k, str) else k[0] for k in info.get(kind, [])})
    ]
    if problems:
        raise _weights_misfit(what, folder, ValueError("; ".join(problems)))
    return model


def load_video_unet(paths: WeightPaths) -> MagicAnimateUNet:
    """The video UNet from `temporal_attention.ckpt`, completed from SD 1.5 if it lacks 2-D keys
    (only keys SD 1.5 has may be absent: a missing motion-module key is an error)."""
    config = json.loads((paths.sd15 / "unet" / "config.json").read_text())
    with init_empty_weights():
        unet = build_video_unet(config)
    ckpt = torch.load(paths.temporal_attention, map_location="cpu", weights_only=True, mmap=True)
    sd_unet: dict[str, torch.Tensor] = {}
    try:
        missing = load_converted(
            unet,
            convert_official_unet(ckpt),
            may_miss=lambda k: ".motion_modules." not in k,
            assign=True,
        )
        if missing:
            log.info("temporal_attention.ckpt lacks %d keys; taking them from SD 1.5", len(missing))
            sd_unet = _load_weights_file(paths.sd15 / "unet")
            load_converted(
                unet,
                {k: sd_unet[k] for k in missing if k in sd_unet},
                may_miss=lambda k: k not in missing,
                assign=True,
            )
    except ValueError as err:
        folder = paths.sd15 / "unet" if sd_unet else paths.temporal_attention
        raise _weights_misfit("video UNet", folder, err) from err
    return unet


def load_appearance_encoder(paths: WeightPaths) -> UNet2DConditionModel:
    """The appearance encoder; only the officially pruned layers may be absent (zeros here)."""
    config = json.loads((paths.appearance_encoder / "config.json").read_text())
    with init_empty_weights():
        encoder = UNet2DConditionModel.from_config(config)
    state = _load_weights_file(paths.appearance_encoder)
    try:
        pruned = load_converted(encoder, state, may_miss=is_pruned_appearance_key, assign=True)
    except ValueError as err:
        raise _weights_misfit("appearance encoder", paths.appearance_encoder, err) from err
    for key in pruned:  # still on the meta device: give them zeros (their output is unused)
        shape = encoder.get_parameter(key).shape
        set_module_tensor_to_device(encoder, key, "cpu", value=torch.zeros(shape))
    return encoder


def load_pipeline(
    paths: WeightPaths,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    face_adapter: str | Path | None = None,
    face_encoder: FaceEncoder | None = None,
    reduced_levels: int = 0,
) -> MagicAnimatePipeline:
    """Every component on `device` in `dtype`, in eval mode. The face path comes from a trained
    adapter file, or starts fresh (zero-initialised outputs) from `face_encoder`. An adapter
    trained on the reduced model (`reduce.py`) brings its `reduced_levels` along."""
    face_state = None
    if face_adapter is not None:
        face_state = torch.load(face_adapter, map_location="cpu", weights_only=True)
        face_encoder = FaceEncoder.from_config(face_state["config"])
        reduced_levels = int(face_state.get("reduced_levels", 0))
    pipe = MagicAnimatePipeline(
        vae=load_strict(AutoencoderKL, paths.vae, "sd-vae-ft-mse"),
        unet=load_video_unet(paths),
        controlnet=load_strict(ControlNetModel, paths.controlnet, "DensePose ControlNet"),
        appearance_encoder=load_appearance_encoder(paths),
        scheduler=magicanimate_scheduler(),
        text_encoder=load_strict(CLIPTextModel, paths.sd15 / "text_encoder", "SD 1.5 text encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(paths.sd15 / "tokenizer"),
        face_encoder=face_encoder,
    )
    if face_state is not None:
        pipe.face.load_state_dict(face_state["state_dict"])
    reduce_attention(pipe, reduced_levels)
    pipe.to(device=device, dtype=dtype)
    for model in (pipe.vae, pipe.unet, pipe.controlnet, pipe.appearance_encoder, pipe.text_encoder):
        model.eval()
    return pipe
