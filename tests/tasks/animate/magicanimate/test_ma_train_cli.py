"""`train-animator`: the TikTok-format reader, exact resume through the CLI, mixed precision and
gradient checkpointing on tiny configs."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from music2dance_cli import main as cli
from tasks.animate.magicanimate.dataset import TikTokDataset
from tasks.animate.magicanimate.face import FaceEncoder
from tasks.animate.magicanimate.train import FaceAdapterTrainer, FaceTrainConfig
from tasks.base import InputError
from tests.tasks.animate.magicanimate.ma_tiny import tiny_pipeline, tiny_release, tiny_text
from tests.tasks.animate.magicanimate.test_ma_train import TINY_FACE, _clip


def write_tiktok(root: Path, videos: int = 2, frames: int = 6) -> Path:
    """ROOT/<video>/{images,densepose}/NNNN.png of 48x64 (portrait) frames + faces.json."""
    rng = np.random.default_rng(0)
    for v in range(videos):
        folder = root / f"video{v}"
        (folder / "images").mkdir(parents=True)
        (folder / "densepose").mkdir()
        for i in range(frames):
            image = np.full((64, 48, 3), 40 * v + 10 * i, np.uint8)
            image[8:24, 16:32] = rng.integers(0, 256, (16, 16, 3))  # the "face"
            cv2.imwrite(str(folder / "images" / f"{i:04d}.png"), image)
            cv2.imwrite(str(folder / "densepose" / f"{i:04d}.png"), 255 - image)
        boxes = {f"{i:04d}": [8, 32, 24, 16] for i in range(frames)}
        (folder / "faces.json").write_text(json.dumps(boxes))
    return root


def test_reader_pads_to_squares_and_is_deterministic(tmp_path):
    data = TikTokDataset(write_tiktok(tmp_path / "tt"), window=4, resolution=64, seed=3)
    assert len(data) == 2 * 3
    clip = data.sample(5)
    assert clip.frames.shape == clip.densepose.shape == (4, 64, 64, 3)
    assert clip.reference.shape == (64, 64, 3)
    assert not clip.frames[:, :, :8].any() and not clip.frames[:, :, -8:].any()  # black bars
    assert clip.face.shape[:2] == (24, 24)  # the 16 px box widened by 25% per side, as in stage
    again = data.sample(5)
    fields = ("frames", "densepose", "reference", "face")
    assert all(np.array_equal(getattr(clip, f), getattr(again, f)) for f in fields)
    starts = {int(data.sample(i).frames[0, 32, 32, 0]) for i in range(12)}
    assert len(starts) > 2  # different windows for different indices


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda root: None, "no video folders"),
        (lambda root: (write_tiktok(root), _drop(root / "video0/densepose/0003.png")), "different"),
        (lambda root: write_tiktok(root, frames=3), "fewer than the window"),
        (lambda root: (write_tiktok(root), _drop_dir(root / "video1/densepose")), "subfolders"),
    ],
)
def test_bad_layouts_are_named(damage, message, tmp_path):
    root = tmp_path / "tt"
    root.mkdir()
    damage(root)
    with pytest.raises(InputError, match=message):
        TikTokDataset(root, window=4, resolution=64)


def _drop(path: Path) -> None:
    path.unlink()


def _drop_dir(path: Path) -> None:
    for p in path.iterdir():
        p.unlink()
    path.rmdir()


def train(weights: Path, data: Path, out: Path, steps: int, *extra: str) -> int:
    return cli.main([
        "train-animator", "--weights", str(weights), "--data", str(data), "--out", str(out),
        "--steps", str(steps), "--window-frames", "2", "--resolution", "64", "--face-crop", "32",
        "--face-hidden", "16", "--lr", "1e-2", "--device", "cpu", *extra,
    ])  # fmt: skip


def test_cli_trains_and_a_resumed_run_equals_an_unbroken_one(tmp_path):
    weights = tiny_release(tmp_path / "pretrained_models")
    data = write_tiktok(tmp_path / "tt")
    assert train(weights, data, tmp_path / "unbroken", 6) == 0
    assert train(weights, data, tmp_path / "broken", 3) == 0
    ckpt = tmp_path / "broken" / "face_adapter.pt"
    assert torch.load(ckpt, weights_only=True)["global_step"] == 3
    assert train(weights, data, tmp_path / "broken", 6, "--resume", str(ckpt)) == 0
    a = torch.load(tmp_path / "unbroken" / "face_adapter.pt", weights_only=True)
    b = torch.load(ckpt, weights_only=True)
    assert a["global_step"] == b["global_step"] == 6
    for name, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][name], value, rtol=0, atol=1e-6, msg=name)
    assert any(v.abs().sum() > 0 for k, v in a["state_dict"].items() if "to_out" in k)  # it learned


def _grads(config: FaceTrainConfig) -> tuple[float, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    trainer = FaceAdapterTrainer(tiny_pipeline(FaceEncoder(**TINY_FACE)), config)
    loss = trainer.loss(_clip(), tiny_text(), torch.Generator().manual_seed(1))
    loss.backward()
    params = trainer.pipe.face.named_parameters()
    return float(loss), {n: p.grad.clone() for n, p in params if p.grad is not None}


def test_gradient_checkpointing_and_bf16_give_the_fp32_gradients():
    loss, grads = _grads(FaceTrainConfig())
    loss_ckpt, grads_ckpt = _grads(FaceTrainConfig(gradient_checkpointing=True))
    loss_bf16, grads_bf16 = _grads(FaceTrainConfig(mixed_precision="bf16"))
    assert grads and grads.keys() == grads_ckpt.keys() == grads_bf16.keys()
    assert loss_ckpt == pytest.approx(loss, abs=1e-6)
    for name, g in grads.items():
        torch.testing.assert_close(grads_ckpt[name], g, rtol=0, atol=1e-5, msg=name)
    assert np.isfinite(loss_bf16) and loss_bf16 == pytest.approx(loss, rel=0.05)
    flat = torch.cat([g.flatten() for g in grads.values()])
    flat_bf16 = torch.cat([grads_bf16[n].flatten() for n in grads])
    assert torch.isfinite(flat_bf16).all()
    assert torch.nn.functional.cosine_similarity(flat, flat_bf16, dim=0) > 0.98


def test_reduced_attention_is_trained_saved_and_reapplied(tmp_path):
    from tasks.animate.magicanimate.loading import load_pipeline, resolve_weights
    from tasks.animate.magicanimate.reduce import SkippedMotionModule, reduce_attention

    weights = tiny_release(tmp_path / "pretrained_models")
    data = write_tiktok(tmp_path / "tt")
    assert train(weights, data, tmp_path / "out", 1, "--reduce-attention", "1") == 0
    ckpt = tmp_path / "out" / "face_adapter.pt"
    assert torch.load(ckpt, weights_only=True)["reduced_levels"] == 1
    pipe = load_pipeline(resolve_weights(weights), face_adapter=ckpt)
    unet = pipe.unet
    skipped = [
        isinstance(m, SkippedMotionModule)
        for block in (*unet.down_blocks, *unet.up_blocks)
        for m in block.motion_modules
    ]
    per_block = [len(b.motion_modules) for b in (*unet.down_blocks, *unet.up_blocks)]
    first, last = per_block[0], per_block[-1]
    assert skipped == [True] * first + [False] * (len(skipped) - first - last) + [True] * last
    finest = f"up_blocks.{len(unet.up_blocks) - 1}."
    for name in pipe.reference.names:
        processor = type(unet.get_submodule(name).attn1.processor).__name__
        assert (processor == "AttnProcessor2_0") == name.startswith(finest)
    with pytest.raises(InputError, match="reduce-attention"):
        reduce_attention(pipe, len(unet.down_blocks))


def test_reduction_changes_the_prediction_and_zero_levels_change_nothing():
    from tasks.animate.magicanimate.reduce import reduce_attention

    x = torch.randn(1, 4, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    outs = []
    for levels in (0, 1):
        pipe = tiny_pipeline()
        before = pipe.unet(x, 500, encoder_hidden_states=tiny_text(), return_dict=False)[0]
        reduce_attention(pipe, levels)
        with torch.no_grad():
            outs.append(pipe.unet(x, 500, encoder_hidden_states=tiny_text(), return_dict=False)[0])
        if levels == 0:
            torch.testing.assert_close(outs[0], before.detach(), rtol=0, atol=0)
    assert (outs[0] - outs[1]).abs().max() > 1e-4
