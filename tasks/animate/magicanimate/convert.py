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
from collections.abc import Callable, Mapping

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


def named_keys(keys: set[str] | list[str], limit: int = 8) -> str:
    """`n keys: a, b, ... (+m more)` for error messages that must name what is wrong."""
    ordered = sorted(keys)
    more = f" (+{len(ordered) - limit} more)" if len(ordered) > limit else ""
    return f"{len(ordered)}: {', '.join(ordered[:limit])}{more}"


def load_converted(
    model: torch.nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    may_miss: Callable[[str], bool] = lambda key: False,
    assign: bool = False,
) -> set[str]:
    """Load `state_dict` strictly into `model`; return the (allowed) keys it did not cover.

    Raises ValueError naming unexpected keys, shape mismatches and missing keys that `may_miss`
    does not allow; derived buffers (`pos_embed.pe`) never count as missing. `assign` adopts the
    given tensors (for models built on the meta device).
    """
    own = {k: v for k, v in model.state_dict().items() if not _DERIVED.search(k)}
    unexpected = set(state_dict) - set(own)
    mismatched = {
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    }
    missing = set(own) - set(state_dict)
    problems = []
    if unexpected:
        problems.append("unexpected keys " + named_keys(unexpected))
    if mismatched:
        problems.append("shape mismatches " + named_keys(mismatched))
    if forbidden := {k for k in missing if not may_miss(k)}:
        problems.append("missing keys " + named_keys(forbidden))
    if problems:
        raise ValueError(f"{type(model).__name__} weights do not fit: " + "; ".join(problems))
    model.load_state_dict(dict(state_dict), strict=False, assign=assign)
    return missing
