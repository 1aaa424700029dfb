"""Face-adapter training on a tiny clip: the loss falls and checkpoints round-trip."""

from pathlib import Path

import numpy as np
import torch

from tasks.animate.magicanimate.face import FaceEncoder
from tasks.animate.magicanimate.train import FaceAdapterTrainer, FaceTrainConfig, TrainingClip
from tests.tasks.animate.magicanimate.ma_seeding import pattern_video
from tests.tasks.animate.magicanimate.ma_tiny import tiny_pipeline, tiny_text

TINY_FACE = {"crop_size": 32, "patch_size": 2, "hidden_dim": 16, "cross_attention_dim": 32}


def _clip() -> TrainingClip:
    densepose, reference = pattern_video(2)
    frames = np.roll(np.broadcast_to(reference, densepose.shape), 3, axis=2).copy()
    return TrainingClip(frames, densepose, reference, reference[8:40, 16:48])


def test_loss_falls_and_checkpoint_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    trainer = FaceAdapterTrainer(
        tiny_pipeline(FaceEncoder(**TINY_FACE)), FaceTrainConfig(learning_rate=1e-2)
    )
    clip, text = _clip(), tiny_text()
    # the same timestep and noise every step: the adapter can only lower the loss by learning
    losses = [trainer.step(clip, text, torch.Generator().manual_seed(1)) for _ in range(10)]
    assert losses[-1] < 0.97 * losses[0]
    assert sum(b < a for a, b in zip(losses, losses[1:], strict=False)) >= 8
    trainer.save(tmp_path / "face.pt")

    fresh = FaceAdapterTrainer(
        tiny_pipeline(FaceEncoder(**TINY_FACE)), FaceTrainConfig(learning_rate=1e-2)
    )
    fresh.resume(tmp_path / "face.pt")
    assert fresh.global_step == 10
    for (name, a), b in zip(
        trainer.pipe.face.state_dict().items(), fresh.pipe.face.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    with torch.no_grad():
        again = fresh.loss(clip, text, torch.Generator().manual_seed(1))
    assert abs(float(again) - trainer.loss(clip, text, torch.Generator().manual_seed(1))) < 1e-5
