"""Load Wan2.2-Animate-14B from a local `Wan-AI/Wan2.2-Animate-14B-Diffusers` folder, strictly.

Expected layout (diffusers' `save_pretrained` of a WanAnimatePipeline):

    <weights>/model_index.json
    <weights>/{transformer, vae, text_encoder, image_encoder}/config.json + weights
    <weights>/{tokenizer, image_processor, scheduler}/

Each network is loaded on its own with `output_loading_info`, so a missing, unexpected or
misshapen tensor is an error naming it (a pipeline-level load only warns on unexpected keys);
nothing is fetched from the Hub (`local_files_only`).
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.animate.wan.params import CONTENTS, NETWORKS, PROCESSORS
from tasks.base import InputError

if TYPE_CHECKING:  # torch stays off the planner's start-up (resolve_weights runs there)
    import torch

log = logging.getLogger(__name__)

FIX = "--set animate.weights=DIR (a Wan-AI/Wan2.2-Animate-14B-Diffusers download)"


def resolve_weights(weights: str | Path | None) -> Path:
    """The weights folder, or one InputError naming animate.weights and every missing part
    (the planner runs the same check from the stage's spec before anything runs)."""
    if weights is None:
        raise InputError(f"animate.model=wan-animate needs the Wan2.2-Animate weights: {FIX}")
    folder = Path(weights).expanduser()
    if missing := [part for part in CONTENTS if not (folder / part).exists()]:
        raise InputError(f"animate.weights={folder} lacks {', '.join(missing)}: {FIX}")
    return folder


def _component_class(folder: Path, name: str) -> type:
    library, class_name = json.loads((folder / "model_index.json").read_text())[name]
    return getattr(importlib.import_module(library), class_name)


def _load_network(folder: Path, name: str, dtype: torch.dtype) -> torch.nn.Module:
    """One network, refusing any missing, unexpected or mismatched tensor."""
    cls = _component_class(folder, name)
    try:
        model, info = cls.from_pretrained(
            folder / name, torch_dtype=dtype, local_files_only=True, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise InputError(f"animate.weights: cannot load {name}/ ({err}): {FIX}") from err
    problems = {
        kind: keys
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
        if (keys := info.get(kind))
    }
    if problems:
        details = "; ".join(f"{kind} {list(keys)[:5]}" for kind, keys in problems.items())
        raise InputError(f"animate.weights: {name}/ does not fit {cls.__name__}: {details}")
    return model.eval()


def load_pipeline(weights: Path, dtype: torch.dtype):
    """A WanAnimatePipeline of the folder's components (on the CPU; see place_pipeline)."""
    from diffusers import WanAnimatePipeline

    parts = {name: _load_network(weights, name, dtype) for name in NETWORKS}
    for name in PROCESSORS:
        parts[name] = _component_class(weights, name).from_pretrained(
            weights / name, local_files_only=True
        )
    return WanAnimatePipeline(**parts)


def place_pipeline(pipe, device: torch.device, offload: str, vae_tiling: bool) -> None:
    """Move the pipeline to device, or install an offload: `model` keeps one model at a time on
    the GPU, `group` one block group at a time (least memory, overlapped copies on CUDA)."""
    if offload == "none" or device.type == "cpu":
        pipe.to(device)
    elif offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_group_offload(
            onload_device=device,
            offload_type="block_level",
            num_blocks_per_group=1,
            use_stream=device.type == "cuda",
        )
    if vae_tiling:
        pipe.vae.enable_tiling()
