"""MagicAnimate's video denoiser rebuilt on diffusers' `UNetMotionModel`.

MagicAnimate inflates the SD 1.5 UNet AnimateDiff-v1 style (motion modules at all four resolutions,
none in the mid block, 8 heads, one block of two temporal self-attentions, sinusoidal positions up
to 24 frames). diffusers' `UNetMotionModel` has the same layout, but its normalisation differs from
the official code in two places, both fixed here without touching parameter names:

* ResNet blocks and the output norm: the official code runs `GroupNorm` on the 5-D
  `(b, c, f, h, w)` tensor, so statistics are shared by every frame of a window
  (`WindowGroupNorm`); diffusers normalises each frame alone.
* Motion modules: the official code normalises each frame alone (`FrameGroupNorm`); diffusers
  shares statistics across frames.

Two more changes make the CPU fp32 forward give the official bits: the ResNet time projection
runs once per video (`VideoTimeProjection`), and the motion modules attend with the official
ops (`AttnProcessor`: baddbmm, softmax, bmm) instead of SDPA.

Reference: magic-research/magic-animate `magicanimate/models/`: `resnet.py`, `motion_module.py`,
`unet_controlnet.py`.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import UNetMotionModel
from diffusers.models.attention_processor import Attention, AttnProcessor
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from torch import nn

MOTION_MAX_SEQ_LENGTH = 24
MOTION_NUM_ATTENTION_HEADS = 8


class WindowGroupNorm(nn.GroupNorm):
    """GroupNorm over `(b*f, c, h, w)` whose statistics span all `num_frames` frames of a window."""

    num_frames: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bf, c, h, w = x.shape
        f = self.num_frames
        # (b*f, c, h, w) -> (b, c, f, h*w): group statistics over (c/groups, f, h, w)
        video = x.reshape(bf // f, f, c, h * w).transpose(1, 2)
        out = F.group_norm(video, self.num_groups, self.weight, self.bias, self.eps)
        return out.transpose(1, 2).reshape(bf, c, h, w)


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over `(b, c, f, h, w)` that normalises each frame on its own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * f, c, h, w)
        out = F.group_norm(frames, self.num_groups, self.weight, self.bias, self.eps)
        return out.reshape(b, f, c, h, w).transpose(1, 2)


class VideoTimeProjection(nn.Linear):
    """A ResNet block's `time_emb_proj` on `(b*f, d)` rows that repeat one embedding per video:
    projected once per video, then repeated, as the official code does. (Projecting the repeated
    rows runs another matmul kernel, whose last bits differ.)"""

    num_frames: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.num_frames
        per_video = x[::f].contiguous()
        return super().forward(per_video).repeat_interleave(f, dim=0)


def _swap_norm(parent: nn.Module, name: str, cls: type[nn.GroupNorm]) -> None:
    old: nn.GroupNorm = getattr(parent, name)
    new = cls(old.num_groups, old.num_channels, eps=old.eps, affine=old.affine)
    new.load_state_dict(old.state_dict())
    setattr(parent, name, new.to(device=old.weight.device, dtype=old.weight.dtype))


def _swap_time_projection(block: ResnetBlock2D) -> None:
    old = block.time_emb_proj
    new = VideoTimeProjection(old.in_features, old.out_features, bias=old.bias is not None)
    new.load_state_dict(old.state_dict())
    block.time_emb_proj = new.to(device=old.weight.device, dtype=old.weight.dtype)


class MagicAnimateUNet(UNetMotionModel):
    """`UNetMotionModel` with the official MagicAnimate normalisation and 5-D text handling.

    `forward` takes `sample` (b, 4, f, h, w), `encoder_hidden_states` (b, n, d) (repeated per frame
    here, as the official `Transformer3DModel` does) and ControlNet residuals shaped
    (b*f, c, h, w); it returns (b, 4, f, h, w).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for module in list(self.modules()):
            if isinstance(module, ResnetBlock2D):
                _swap_norm(module, "norm1", WindowGroupNorm)
                _swap_norm(module, "norm2", WindowGroupNorm)
                if module.time_emb_proj is not None:
                    _swap_time_projection(module)
            elif isinstance(module, AnimateDiffTransformer3D):
                _swap_norm(module, "norm", FrameGroupNorm)
                for attention in module.modules():
                    if isinstance(attention, Attention):
                        # the official temporal attention's ops (baddbmm, softmax, bmm): SDPA
                        # differs from them in the last bits
                        attention.set_processor(AttnProcessor())
        _swap_norm(self, "conv_norm_out", WindowGroupNorm)

    # ConfigMixin reads the accepted config keys from the `__init__` signature.
    __init__.__signature__ = inspect.signature(UNetMotionModel.__init__)  # type: ignore[attr-defined]

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        num_frames = sample.shape[2]
        for module in self.modules():
            if isinstance(module, (WindowGroupNorm, VideoTimeProjection)):
                module.num_frames = num_frames
        # (b, n, d) -> (b*f, n, d): every frame cross-attends to its video's text
        encoder_hidden_states = encoder_hidden_states.repeat_interleave(num_frames, dim=0)
        return super().forward(sample, timestep, encoder_hidden_states, *args, **kwargs)


def video_unet_config(unet_2d_config: dict[str, Any]) -> dict[str, Any]:
    """MagicAnimate's video UNet config from an SD 1.5 `unet/config.json` dict."""
    config = {
        k: v
        for k, v in unet_2d_config.items()
        if k in inspect.signature(UNetMotionModel.__init__).parameters
    }
    config["down_block_types"] = [
        "CrossAttnDownBlockMotion" if "CrossAttn" in t else "DownBlockMotion"
        for t in unet_2d_config["down_block_types"]
    ]
    config["up_block_types"] = [
        "CrossAttnUpBlockMotion" if "CrossAttn" in t else "UpBlockMotion"
        for t in unet_2d_config["up_block_types"]
    ]
    # SD 1.5 configs store the head count under the legacy name `attention_head_dim`.
    config["num_attention_heads"] = (
        unet_2d_config.get("num_attention_heads") or unet_2d_config["attention_head_dim"]
    )
    config.pop("attention_head_dim", None)
    config.update(
        motion_max_seq_length=MOTION_MAX_SEQ_LENGTH,
        motion_num_attention_heads=MOTION_NUM_ATTENTION_HEADS,
        use_motion_mid_block=False,
        temporal_transformer_layers_per_block=1,
    )
    return config


def build_video_unet(unet_2d_config: dict[str, Any]) -> MagicAnimateUNet:
    """A randomly initialised video UNet for an SD 1.5-style 2-D config (weights loaded later)."""
    return MagicAnimateUNet.from_config(video_unet_config(unet_2d_config))
