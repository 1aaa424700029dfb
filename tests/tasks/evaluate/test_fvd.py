"""FVD plumbing: clip cutting, preprocessing, a TorchScript detector with I3D's call signature,
and the Frechet distance's closed form."""

import numpy as np
import pytest
import torch

from tasks.base import InputError
from tasks.evaluate.fvd import clips, features, fvd, load_i3d, preprocess


class MeanColour(torch.nn.Module):
    """Stands in for I3D: same call signature, features = per-channel mean and frame spread."""

    def forward(
        self, x: torch.Tensor, rescale: bool, resize: bool, return_features: bool
    ) -> torch.Tensor:
        assert not rescale and not resize and return_features
        return torch.cat((x.mean(dim=(2, 3, 4)), x.std(dim=(2, 3, 4))), dim=1)


@pytest.fixture()
def detector(tmp_path) -> torch.jit.ScriptModule:
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.save(torch.jit.script(MeanColour()), str(path))
    return load_i3d(path)


def test_clips_are_16_frames_and_preprocessing_is_224_in_unit_range():
    frames = np.random.default_rng(0).integers(0, 256, (40, 48, 64, 3), dtype=np.uint8)
    cut = list(clips(frames))
    assert [c.shape for c in cut] == [(16, 48, 64, 3)] * 2  # the 8-frame tail is dropped
    x = preprocess(cut[0])
    assert x.shape == (3, 16, 224, 224) and x.min() >= -1 and x.max() <= 1


def test_fvd_is_zero_for_the_same_video_and_grows_with_a_shift(detector):
    rng = np.random.default_rng(0)
    video = rng.integers(60, 200, (64, 32, 32, 3), dtype=np.uint8)
    a = features(detector, iter(video))
    assert a.shape == (4, 6)
    assert fvd(a, a) == pytest.approx(0.0, abs=1e-6)
    b = a + 0.5  # equal covariances: FVD = ||mu_a - mu_b||^2
    assert fvd(a, b) == pytest.approx(6 * 0.25, rel=1e-6)
    assert fvd(a[:1], b) is None  # one clip has no covariance


def test_foreign_detector_file_is_refused(tmp_path):
    bad = tmp_path / "i3d.pt"
    torch.save({"a": torch.zeros(1)}, bad)
    with pytest.raises(InputError, match="not a TorchScript I3D"):
        load_i3d(bad)
