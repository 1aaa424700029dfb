"""FID-VID's 3D ResNet-50 against the official kenshohara model (golden values, seeded weights),
DisCo's clip preparation, and checkpoint loading."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tasks.base import InputError
from tasks.evaluate.resnet3d import PIXEL_MEAN, ResNet3D50, load_resnet3d, video_tensor
from tests.tasks.evaluate.seeding import seeded_network

GOLDEN = np.load(Path(__file__).parent / "fixtures" / "resnet3d_golden.npz")


def checkpoint(path: Path) -> Path:
    """resnet-50-kinetics.pth as released: {'arch', 'state_dict'} with DataParallel's prefix."""
    shapes = {k: tuple(v.shape) for k, v in ResNet3D50().state_dict().items()}
    state = {f"module.{k}": v for k, v in seeded_network(shapes).items()}
    torch.save({"arch": "resnet-50", "state_dict": state}, path)
    return path


def test_official_keys_and_features_match(tmp_path):
    ours = [f"{k}:{','.join(map(str, v.shape))}" for k, v in ResNet3D50().state_dict().items()]
    assert sorted(ours) == sorted(GOLDEN["keys"].tolist())
    model = load_resnet3d(checkpoint(tmp_path / "resnet-50-kinetics.pth"))
    clip = np.random.default_rng(0).uniform(-110, 150, (1, 3, 16, 112, 112)).astype(np.float32)
    with torch.inference_mode():
        feature = model(torch.from_numpy(clip)).numpy()
    np.testing.assert_allclose(feature, GOLDEN["feature"], rtol=1e-5, atol=1e-4)


def test_videos_are_padded_to_16_frame_segments_and_mean_subtracted():
    frames = [np.full((64, 48, 3), 200, np.uint8) for _ in range(20)]
    x = video_tensor(frames)
    assert x.shape == (2, 3, 16, 112, 112)  # 20 frames + 12 copies of the last
    np.testing.assert_allclose(x[1, :, -1, 0, 0].numpy(), 200 - np.array(PIXEL_MEAN), atol=1e-3)


def test_foreign_checkpoints_are_refused(tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(1)}}, bad)
    with pytest.raises(InputError, match="not a 3D-ResNet-50"):
        load_resnet3d(bad)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(InputError, match="unreadable"):
        load_resnet3d(tmp_path / "junk.pth")
