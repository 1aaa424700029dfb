"""Strict loading of every released component: a missing or extra key is an error naming it."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tasks.animate.magicanimate.loading import (
    WeightPaths,
    is_pruned_appearance_key,
    load_appearance_encoder,
    load_pipeline,
    load_video_unet,
)
from tasks.base import InputError
from tests.tasks.animate.magicanimate.ma_tiny import tiny_release


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> WeightPaths:
    weights = tiny_release(tmp_path_factory.mktemp("pretrained_models"))
    return WeightPaths(
        weights, weights.parent / "stable-diffusion-v1-5", weights.parent / "sd-vae-ft-mse"
    )


def _copy_with(src: Path, dst: Path, edit) -> Path:
    """A copy of the model folder `src` whose weight file went through `edit(state) -> state`."""
    dst.mkdir(parents=True)
    for file in src.iterdir():
        (dst / file.name).write_bytes(file.read_bytes())
    weights = next(dst.glob("*.safetensors"))
    save_file(edit(load_file(weights)), weights)
    return dst


def _without(key: str):
    return lambda state: {k: v for k, v in state.items() if k != key}


def _with_extra(state: dict) -> dict:
    return {**state, "bogus.weight": torch.zeros(2)}


def test_release_loads_with_only_the_pruned_appearance_keys_absent(release: WeightPaths) -> None:
    encoder = load_appearance_encoder(release)
    pruned = [k for k in encoder.state_dict() if is_pruned_appearance_key(k)]
    assert {k.split(".")[0] for k in pruned} == {"conv_norm_out", "conv_out", "up_blocks"}
    assert all(encoder.state_dict()[k].abs().sum() == 0 for k in pruned)
    assert not any(is_pruned_appearance_key(k) for k in load_file(
        next(release.appearance_encoder.glob("*.safetensors"))))  # fmt: skip
    assert not is_pruned_appearance_key(
        "up_blocks.3.attentions.2.transformer_blocks.0.norm1.weight"
    )


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (_without("down_blocks.0.resnets.0.conv1.weight"), "down_blocks.0.resnets.0.conv1.weight"),
        (_with_extra, "bogus.weight"),
    ],
)
def test_appearance_encoder_names_missing_or_extra_keys(
    release: WeightPaths, tmp_path: Path, edit, named: str
) -> None:
    _copy_with(release.appearance_encoder, tmp_path / "m" / "appearance_encoder", edit)
    paths = WeightPaths(tmp_path / "m", release.sd15, release.vae)
    with pytest.raises(InputError, match=f"appearance encoder weights .*{named}"):
        load_appearance_encoder(paths)


@pytest.mark.parametrize("component", ["densepose_controlnet", "vae"])
@pytest.mark.parametrize(("kind", "message"), [("missing", "missing"), ("extra", "unexpected")])
def test_controlnet_and_vae_name_missing_or_extra_keys(
    release: WeightPaths, tmp_path: Path, component: str, kind: str, message: str
) -> None:
    weights, vae = tmp_path / "MagicAnimate", release.vae
    weights.mkdir()
    for sub in ("appearance_encoder", "temporal_attention", "densepose_controlnet"):
        if sub != component:
            (weights / sub).symlink_to(release.weights / sub)
    src = release.vae if component == "vae" else release.controlnet
    key = sorted(load_file(next(src.glob("*.safetensors"))))[3]
    edit, named = (_without(key), key) if kind == "missing" else (_with_extra, "bogus.weight")
    if component == "vae":
        vae = _copy_with(src, tmp_path / "vae", edit)
    else:
        _copy_with(src, weights / component, edit)
    with pytest.raises(InputError, match=f"{message} keys 1: {named}"):
        load_pipeline(WeightPaths(weights, release.sd15, vae))


def test_video_unet_names_a_missing_motion_module_key(release: WeightPaths, tmp_path: Path) -> None:
    state = torch.load(release.temporal_attention, weights_only=True)
    key = next(k for k in sorted(state) if ".motion_modules." in k)
    ckpt = tmp_path / "MagicAnimate/temporal_attention/temporal_attention.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save(_without(key)(state), ckpt)
    paths = WeightPaths(tmp_path / "MagicAnimate", release.sd15, release.vae)
    with pytest.raises(InputError, match="missing keys 1: .*motion_modules"):
        load_video_unet(paths)
