"""LPIPS against the official `lpips` package (golden values, seeded backbone, published heads)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tasks.base import InputError
from tasks.evaluate.lpips import LPIPS, load_lpips, lpips_per_frame
from tests.tasks.evaluate.seeding import seeded_backbone

GOLDEN = np.load(Path(__file__).parent / "fixtures" / "lpips_golden.npz")


def weights_folder(root: Path, net: str) -> Path:
    """The two published files as a user has them: torchvision backbone + lpips heads."""
    folder = root / net
    folder.mkdir()
    shapes = {k: tuple(v.shape) for k, v in LPIPS(net).state_dict().items() if "features" in k}
    backbone = seeded_backbone(shapes) | {"classifier.1.weight": torch.zeros(2, 2)}
    torch.save(backbone, folder / f"{net}-torchvision.pth")
    heads = {f"lin{i}.model.1.weight": torch.from_numpy(GOLDEN[f"{net}_lin{i}"]) for i in range(5)}
    torch.save(heads, folder / f"{net}.pth")
    return folder


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_matches_the_official_lpips(net, tmp_path):
    model = load_lpips(weights_folder(tmp_path, net))
    assert model.net == net
    got = lpips_per_frame(model, iter(GOLDEN["frames_a"]), iter(GOLDEN["frames_b"]), batch=1)
    np.testing.assert_allclose(got, GOLDEN[f"{net}_distance"], rtol=1e-5, atol=1e-7)


def test_identical_frames_are_at_distance_zero_and_noise_is_farther(tmp_path):
    model = load_lpips(weights_folder(tmp_path, "alex"))
    a = GOLDEN["frames_a"]
    noisy = np.random.default_rng(1).integers(0, 256, a.shape, dtype=np.uint8)
    same = lpips_per_frame(model, a, a)
    far = lpips_per_frame(model, a, noisy)
    assert np.all(same == 0) and np.all(far > GOLDEN["alex_distance"])


def test_missing_or_foreign_weights_are_named(tmp_path):
    with pytest.raises(InputError, match="pass a folder"):
        load_lpips(tmp_path / "nope")
    folder = weights_folder(tmp_path, "alex")
    (folder / "alex.pth").unlink()
    with pytest.raises(InputError, match="heads"):
        load_lpips(folder)
    (folder / "alex.pth").write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(InputError, match="unreadable"):
        load_lpips(folder)
