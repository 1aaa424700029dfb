"""Tiny configs and seeded weights by parameter name, shared by the tests and the golden recipe.

Dependency-light (numpy + torch) so the golden recipe can import it inside the official
environment (diffusers 0.21.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

TINY_2D: dict[str, Any] = {
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "block_out_channels": [32, 32, 64, 64],
    "layers_per_block": 2,
    "attention_head_dim": 2,
    "cross_attention_dim": 32,
    "norm_num_groups": 32,
}

TINY_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [8, 16, 16, 16],
    "layers_per_block": 1,
    "latent_channels": 4,
    "norm_num_groups": 8,
    "sample_size": 64,
}

TINY_TEXT: dict[str, Any] = {  # CLIPTextConfig of the tiny text encoder (seeded with 0)
    "vocab_size": 16,
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "max_position_embeddings": 8,
}


def seeded_state_dict(shapes: dict[str, list[int]], seed: int) -> dict[str, torch.Tensor]:
    """Weights for `shapes`: norm scales ~1+0.1N, biases ~0.1N, matrices ~0.3N/sqrt(fan_in).

    Keys are drawn in sorted order from one generator. The 0.3 keeps the tiny network tame:
    fp32 rounding noise stays ~1e-6 at its output.
    """
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key in sorted(shapes):
        shape = tuple(shapes[key])
        x = torch.randn(shape, generator=g, dtype=torch.float32)
        if len(shape) == 1:
            x = 1.0 + 0.1 * x if key.endswith("weight") else 0.1 * x
        else:
            x = 0.3 * x / float(np.sqrt(np.prod(shape[1:])))
        out[key] = x
    return out


def pattern_video(num_frames: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic DensePose-like frames (T, size, size, 3) and a reference (size, size, 3)."""
    t, y, x, c = np.meshgrid(
        np.arange(num_frames), np.arange(size), np.arange(size), np.arange(3), indexing="ij"
    )
    control = ((x // 8 * 37 + y // 8 * 11 + t * 5 + c * 50) % 256).astype(np.uint8)
    reference = ((x[0] * 3 + y[0] * 5 + c[0] * 70) % 256).astype(np.uint8)
    return control, reference
