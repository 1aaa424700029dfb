"""Video UNet: parity with the official forward, GroupNorm semantics, official key mapping."""

import gzip
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from accelerate import init_empty_weights

from tasks.animate.magicanimate.convert import (
    convert_official_unet,
    load_converted,
    official_to_ours,
)
from tasks.animate.magicanimate.unet import FrameGroupNorm, WindowGroupNorm, build_video_unet
from tests.tasks.animate.magicanimate.ma_tiny import GOLDEN, golden, tiny_video_unet

SD15_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
    "norm_num_groups": 32,
}


def test_video_unet_matches_official_forward() -> None:
    g = golden("unet_forward.npz")
    unet = tiny_video_unet()
    sample, text = torch.from_numpy(g["sample"]), torch.from_numpy(g["text"])
    # official residuals are (b, c, f, h, w); ours are (b*f, c, h, w)
    res = [torch.from_numpy(g[f"res{i}"]).transpose(1, 2).flatten(0, 1) for i in range(12)]
    mid = torch.from_numpy(g["mid"]).transpose(1, 2).flatten(0, 1)
    with torch.no_grad():
        out = unet(sample, int(g["timestep"]), text).sample
        out_res = unet(
            sample,
            int(g["timestep"]),
            text,
            down_block_additional_residuals=res,
            mid_block_additional_residual=mid,
        ).sample
    np.testing.assert_allclose(out.numpy(), g["out"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out_res.numpy(), g["out_res"], atol=1e-4, rtol=0)


def test_window_groupnorm_shares_statistics_across_frames() -> None:
    norm = WindowGroupNorm(4, 8)
    norm.num_frames = 3
    x = torch.randn(2 * 3, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    video = x.reshape(2, 3, 8, 5, 5).transpose(1, 2)  # (b, c, f, h, w) like the official 5-D
    expected = F.group_norm(video, 4, norm.weight, norm.bias, norm.eps).transpose(1, 2)
    torch.testing.assert_close(norm(x), expected.reshape(6, 8, 5, 5))
    assert not torch.allclose(norm(x), F.group_norm(x, 4, norm.weight, norm.bias, norm.eps))


def test_frame_groupnorm_normalises_each_frame() -> None:
    norm = FrameGroupNorm(4, 8)
    x = torch.randn(2, 8, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    out = norm(x)
    for f in range(3):
        expected = F.group_norm(x[:, :, f], 4, norm.weight, norm.bias, norm.eps)
        torch.testing.assert_close(out[:, :, f], expected)


def test_official_key_mapping_covers_full_size_unet_exactly() -> None:
    with gzip.open(GOLDEN / "official_unet_keys.json.gz", "rt") as f:
        official = json.load(f)
    assert official["fp32_bytes"] == 5_110_013_456  # the released temporal_attention.ckpt size
    with init_empty_weights():
        unet = build_video_unet(SD15_UNET)
    ours = {k: tuple(v.shape) for k, v in unet.state_dict().items() if not k.endswith(".pe")}
    mapped = {
        official_to_ours(k): tuple(shape)
        for k, shape in official["shapes"].items()
        if official_to_ours(k) is not None
    }
    assert (
        len(official["shapes"]) - len(mapped) == 2 * 20
    )  # 20 motion modules, two dropped `pe` each
    assert mapped == ours


@pytest.mark.parametrize(
    ("official", "ours"),
    [
        (
            "down_blocks.0.motion_modules.1.temporal_transformer.transformer_blocks.0."
            "attention_blocks.1.to_out.0.weight",
            "down_blocks.0.motion_modules.1.transformer_blocks.0.attn2.to_out.0.weight",
        ),
        (
            "up_blocks.3.motion_modules.2.temporal_transformer.transformer_blocks.0.norms.0.bias",
            "up_blocks.3.motion_modules.2.transformer_blocks.0.norm1.bias",
        ),
        (
            "module.up_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.ff_norm.weight",
            "up_blocks.0.motion_modules.0.transformer_blocks.0.norm3.weight",
        ),
        ("up_blocks.1.attentions.0.transformer_blocks.0.norm1.weight",) * 2,
        (
            "down_blocks.1.motion_modules.0.temporal_transformer.transformer_blocks.0."
            "attention_blocks.0.pos_encoder.pe",
            None,
        ),
    ],
)
def test_official_to_ours_examples(official: str, ours: str | None) -> None:
    assert official_to_ours(official) == ours


def test_loader_names_unexpected_and_mismatched_keys() -> None:
    unet = tiny_video_unet()
    state = {k: v for k, v in unet.state_dict().items() if not k.endswith(".pe")}
    state["bogus.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected keys 1: bogus.weight"):
        load_converted(unet, state)
    state.pop("bogus.weight")
    state["conv_in.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="conv_in.weight"):
        load_converted(unet, state)
    state.pop("conv_in.weight")
    with pytest.raises(ValueError, match="missing keys 1: conv_in.weight"):
        load_converted(unet, state)
    assert load_converted(unet, state, may_miss=lambda k: k.startswith("conv_in")) == {
        "conv_in.weight"
    }


def test_convert_unwraps_state_dict_and_module_prefix() -> None:
    converted = convert_official_unet({"state_dict": {"module.conv_in.bias": torch.ones(2)}})
    assert list(converted) == ["conv_in.bias"]
