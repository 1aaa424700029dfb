"""The report's reduced model: fewer self-attention layers in appearance and motion encoding.

"Due to limited hardware access and budget, we have to squeeze the model size via reducing the
self-attention transformer layers in original appearance and motion encoding" (report, 3.3).
Here the `levels` highest-resolution UNet levels lose their temporal self-attention (motion
modules) and their reference self-attention (attn1 there attends to its own tokens only). Those
layers see the most tokens, so they cost the most; the pretrained text cross-attention and the
new face attention stay everywhere. Train the face adapter with the same reduction it runs with:
the adapter checkpoint records it and `load_pipeline` applies it again.
"""

from __future__ import annotations

from typing import Any

from diffusers.models.attention_processor import AttnProcessor2_0
from torch import Tensor, nn

from tasks.base import InputError


class SkippedMotionModule(nn.Module):
    """Stands where a motion module was: frames pass through unchanged."""

    def forward(self, hidden_states: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return hidden_states


def reduce_attention(pipe: Any, levels: int) -> None:
    """Drop motion and reference self-attention at the `levels` finest UNet levels (0: none)."""
    unet = pipe.unet
    n = len(unet.down_blocks)
    if not 0 <= levels < n:
        raise InputError(f"--reduce-attention {levels}: use 0..{n - 1} (UNet levels to reduce)")
    finest_up = range(len(unet.up_blocks) - levels, len(unet.up_blocks))
    for block in [*unet.down_blocks[:levels], *(unet.up_blocks[i] for i in finest_up)]:
        block.motion_modules = nn.ModuleList(SkippedMotionModule() for _ in block.motion_modules)
    prefixes = tuple(f"up_blocks.{i}." for i in finest_up)
    for name in pipe.reference.names:
        if name.startswith(prefixes):
            unet.get_submodule(name).attn1.set_processor(AttnProcessor2_0())
    pipe.reduced_levels = levels
