"""Which dtype EDGE's fast sampler computes in (`motion.precision`).

bf16 pays only where the hardware computes it natively: CUDA, or a CPU with AVX512-BF16 or AMX
(measured on such a CPU: the 50-step sampler 2.5-3x faster than fp32). A CPU without them emulates
it, slower than fp32 (2.3x slower measured), so `auto` asks torch what this CPU has. The parity
mode always computes in fp32, as the official code does.
"""

from __future__ import annotations

import logging

import torch

PRECISIONS = ("auto", "float32", "bfloat16")

log = logging.getLogger(__name__)


def cpu_has_native_bf16() -> bool:
    """True on a CPU with bf16 instructions (AVX512-BF16 or AMX tiles), as torch sees it."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def sampling_dtype(precision: str, device: str, parity: bool) -> torch.dtype:
    """float32 or bfloat16 for the sampler on `device` (`cpu` | `cuda`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
    if parity:
        return torch.float32
    if precision != "auto":
        return getattr(torch, precision)
    native = torch.device(device).type == "cuda" or cpu_has_native_bf16()
    dtype = torch.bfloat16 if native else torch.float32
    log.info("EDGE precision auto on %s: %s", device, "bf16 (native)" if native else "fp32")
    return dtype
