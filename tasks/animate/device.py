"""Where a diffusion animator runs: `animate.device` and `animate.precision` resolved."""

from __future__ import annotations

import torch


def device_and_dtype(
    device: str, precision: str, gpu_dtype: torch.dtype
) -> tuple[torch.device, torch.dtype]:
    """Resolve `auto`: CUDA when available, else CPU; on CUDA the model's release dtype
    (`gpu_dtype`), on CPU fp32 (half-precision convolutions are slow or missing there)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if precision == "auto":
        return dev, gpu_dtype if dev.type == "cuda" else torch.float32
    return dev, getattr(torch, precision)
