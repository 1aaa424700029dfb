"""Key mapping from MagicAnimate's `temporal_attention.ckpt` to `MagicAnimateUNet`.

The released checkpoint is a pickled fp32 state dict of the whole official video UNet (1,246
tensors, 5,110,013,456 bytes). Its 2-D layers already carry diffusers names; only the AnimateDiff
motion modules are renamed, block by block:

    official (AnimateDiff v1)                              ours (AnimateDiffTransformer3D)
    <blk>.motion_modules.<j>.temporal_transformer.<rest>  -> <blk>.motion_modules.<j>.<rest>
    transformer_blocks.0.attention_blocks.0.*              -> transformer_blocks.0.attn1.*
    transformer_blocks.0.attention_blocks.1.*              -> transformer_blocks.0.attn2.*
    transformer_blocks.0.norms.0.*  / norms.1.*            -> transformer_blocks.0.norm1.* / norm2.*
    transformer_blocks.0.ff_norm.*                         -> transformer_blocks.0.norm3.*
    transformer_blocks.0.attention_blocks.<k>.pos_encoder.pe  (fixed sinusoid)  -> dropped

`pos_encoder.pe` is the same sinusoidal table diffusers rebuilds as `pos_embed.pe`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_MOTION_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"\.motion_modules\.(\d+)\.temporal_transformer\.", r".motion_modules.\1."),
        (r"\.attention_blocks\.0\.", ".attn1."),
        (r"\.attention_blocks\.1\.", ".attn2."),
        (r"\.norms\.0\.", ".norm1."),
        (r"\.norms\.1\.", ".norm2."),
        (r"\.ff_norm\.", ".norm3."),
    )
)
_DROPPED = re.compile(r"\.pos_encoder\.pe$")
_DERIVED = re.compile(r"\.pos_embed\.pe$")
_WRAPPER_PREFIXES = ("module.", "unet.")


def official_to_ours(key: str) -> str | None:
    """Our parameter name for one official key, or None for keys rebuilt at init (`pe`)."""
    for prefix in _WRAPPER_PREFIXES:
        key = key.removeprefix(prefix)
    if _DROPPED.search(key):
        return None
    if ".motion_modules." in key:
        for pattern, repl in _MOTION_RENAMES:
            key = pattern.sub(repl, key)
    return key


def convert_official_unet(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an official video-UNet state dict (optionally wrapped in `state_dict`)."""
    if "state_dict" in state_dict:
        state_dict = state_dict["state_dict"]
    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        ours = official_to_ours(key)
        if ours is not None:
            converted[ours] = value
    return converted


def load_converted(
    model: torch.nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    allow_missing: bool = False,
    assign: bool = False,
) -> set[str]:
    """Load `state_dict` strictly into `model`; return the keys it did not cover.

    Raises ValueError naming unexpected keys, shape mismatches and (unless `allow_missing`)
    missing keys; derived buffers (`pos_embed.pe`) never count as missing. `assign` adopts the
    given tensors (for models built on the meta device).
    """
    own = {k: v for k, v in model.state_dict().items() if not _DERIVED.search(k)}
    unexpected = sorted(set(state_dict) - set(own))
    mismatched = sorted(
        f"{k}: {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    )
    missing = set(own) - set(state_dict)
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys, e.g. {unexpected[:3]}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches, e.g. {mismatched[:3]}")
    if missing and not allow_missing:
        problems.append(f"{len(missing)} missing keys, e.g. {sorted(missing)[:3]}")
    if problems:
        raise ValueError(f"{type(model).__name__} weights do not fit: " + "; ".join(problems))
    model.load_state_dict(dict(state_dict), strict=False, assign=assign)
    return missing
