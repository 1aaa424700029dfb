"""Appearance encoder + reference attention against the official golden values."""

import numpy as np
import torch

from tasks.animate.magicanimate.reference import ReferenceAttention, midup_block_names
from tests.tasks.animate.magicanimate.ma_tiny import (
    golden,
    tiny_appearance_encoder,
    tiny_video_unet,
)


def _run(bank_dtype: torch.dtype | None) -> tuple[torch.Tensor, torch.Tensor, dict]:
    g = golden("reference_attention.npz")
    unet = tiny_video_unet()
    reference = ReferenceAttention(tiny_appearance_encoder(), unet, bank_dtype=bank_dtype)
    text, t = torch.from_numpy(g["text"]), int(g["timestep"])
    sample = torch.from_numpy(g["sample"])
    reference.write(torch.from_numpy(g["ref"]), t, text, guided=True)  # as official: 2 rows
    reference.state.uncond_rows = sample.shape[2]  # first half of the (2*f) rows: unconditional
    with torch.no_grad():
        out = unet(sample.repeat(2, 1, 1, 1, 1), t, text.repeat(2, 1, 1)).sample
        reference.clear()
        plain = unet(sample, t, text).sample
    return out, plain, g


def test_reference_attention_matches_official() -> None:
    out, _, g = _run(torch.float16)  # the official bank is rounded to fp16
    np.testing.assert_allclose(out.numpy(), g["out"], atol=1e-4, rtol=0)


def test_unconditional_half_ignores_the_reference() -> None:
    out, plain, _ = _run(torch.float16)
    torch.testing.assert_close(out[0], plain[0], atol=1e-5, rtol=0)
    assert (out[1] - plain[0]).abs().max() > 1e-3


def test_midup_blocks_are_the_ten_spatial_blocks_of_sd15_layout() -> None:
    names = midup_block_names(tiny_video_unet())
    assert len(names) == 1 + 3 * 3  # mid + three cross-attention up blocks of 3 layers
    assert all(".motion_modules." not in n for n in names)
