"""Loading the release layout from folders, the missing-weights error, and the stage entry point."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from safetensors.torch import save_file

from tasks.animate.magicanimate.face import FaceAttention, FaceEncoder
from tasks.animate.magicanimate.loading import WeightPaths, load_video_unet
from tasks.animate.magicanimate.stage import animate_from_artifact, face_crop
from tasks.animate.task import SPEC as ANIMATE
from tasks.base import InputError, StageContext
from tests.stage_params import stage_params
from tests.tasks.animate.magicanimate.ma_seeding import TINY_2D, pattern_video, seeded_state_dict
from tests.tasks.animate.magicanimate.ma_tiny import (
    golden,
    official_shapes,
    tiny_release,
    tiny_video_unet,
)


def _face_adapter(path: Path) -> Path:
    """An untrained adapter checkpoint in the format `FaceAdapterTrainer.save` writes."""
    encoder = FaceEncoder(crop_size=32, patch_size=2, hidden_dim=16, cross_attention_dim=32)
    face = FaceAttention(tiny_video_unet(), encoder)
    torch.save({"config": dict(encoder.config), "state_dict": face.state_dict()}, path)
    return path


def _context(
    tmp_path: Path, weights: Path | None, num_frames: int, face_adapter: Path | None = None
) -> StageContext:
    control, reference = pattern_video(num_frames)
    align = zarr.group()
    align.create_array("rgb", data=control, chunks=(8, 64, 64, 3))
    align.create_array("reference", data=reference)
    align.attrs["face_box"] = [10, 40, 40, 20]
    params = stage_params(
        "animate",
        weights=None if weights is None else str(weights),
        steps=1,
        face_adapter=None if face_adapter is None else str(face_adapter),
    )
    return StageContext(
        params=params,
        upstream={"align": align},
        out=zarr.group(),
        workdir=tmp_path,
        log=logging.getLogger("test"),
    )


def test_missing_weights_error_lists_every_folder(tmp_path: Path) -> None:
    (tmp_path / "MagicAnimate" / "appearance_encoder").mkdir(parents=True)
    ctx = _context(tmp_path, tmp_path / "MagicAnimate", 4)
    with pytest.raises(InputError) as err:
        next(animate_from_artifact(ctx))
    message = str(err.value)
    for part in (
        "appearance_encoder/config.json",
        "densepose_controlnet",
        "temporal_attention.ckpt",
        "SD 1.5 unet",
        "sd-vae-ft-mse",
    ):
        assert part in message
    unset = stage_params("animate", model="magicanimate")
    with pytest.raises(InputError, match="--set animate.weights=PATH"):
        ANIMATE.check_model(unset)


def test_stage_animates_from_release_folders(tmp_path: Path) -> None:
    weights = tiny_release(tmp_path / "pretrained_models")
    adapter = _face_adapter(tmp_path / "face.pt")
    ctx = _context(tmp_path / "work", weights, 18, adapter)
    (tmp_path / "work").mkdir()
    chunks = list(animate_from_artifact(ctx))
    assert [c.shape for c in chunks] == [(8, 64, 64, 3), (8, 64, 64, 3), (2, 64, 64, 3)]
    assert all(c.dtype == np.uint8 for c in chunks)
    assert not any((tmp_path / "work").iterdir())  # temporary latents removed


def test_face_crop_widens_and_clips() -> None:
    reference = np.zeros((64, 48, 3), np.uint8)
    assert face_crop(reference, [10, 30, 30, 10]).shape == (30, 30, 3)
    assert face_crop(reference, [0, 48, 20, 30]).shape == (25, 22, 3)


def test_motion_only_checkpoint_is_completed_from_sd15(tmp_path: Path) -> None:
    shapes = official_shapes(golden("unet_forward.npz")["official_keys"])
    official = seeded_state_dict(shapes, 1)
    motion = {k: v for k, v in official.items() if ".motion_modules." in k}
    (tmp_path / "MagicAnimate/temporal_attention").mkdir(parents=True)
    ckpt = tmp_path / "MagicAnimate/temporal_attention/temporal_attention.ckpt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in motion.items()}}, ckpt)
    (tmp_path / "sd15/unet").mkdir(parents=True)
    (tmp_path / "sd15/unet/config.json").write_text(json.dumps(TINY_2D))
    spatial = {k: v for k, v in official.items() if ".motion_modules." not in k}
    save_file(spatial, tmp_path / "sd15/unet/diffusion_pytorch_model.safetensors")
    paths = WeightPaths(tmp_path / "MagicAnimate", tmp_path / "sd15", tmp_path / "vae")
    loaded = load_video_unet(paths).state_dict()
    for key, value in tiny_video_unet().state_dict().items():
        torch.testing.assert_close(loaded[key], value, msg=key)


def test_compile_param_compiles_unet_and_controlnet(tmp_path: Path, monkeypatch) -> None:
    compiled = []

    def fake_compile(module):  # the plumbing only: inductor needs a GPU run to pay off
        compiled.append(type(module).__name__)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    weights = tiny_release(tmp_path / "pretrained_models")
    ctx = _context(tmp_path / "work", weights, 4)
    ctx.params["compile"] = True
    (tmp_path / "work").mkdir()
    assert sum(len(c) for c in animate_from_artifact(ctx)) == 4
    assert compiled == ["MagicAnimateUNet", "ControlNetModel"]
