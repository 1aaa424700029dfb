"""PSNR / SSIM on known pairs, identity on scikit-image's astronaut, missing-weights errors."""

import numpy as np
import pytest
from skimage import data

from tasks.base import InputError
from tasks.evaluate.identity import face_embedding, identity_distances, largest_face
from tasks.evaluate.networks import load_metric_network, require_weights
from tasks.evaluate.video import MAX_PSNR, fidelity_per_frame, psnr, ssim


def test_psnr_known_pair():
    a = np.full((16, 16, 3), 100, np.uint8)
    assert psnr(a + 10, a) == pytest.approx(10 * np.log10(255**2 / 100))  # MSE 100: 28.13 dB
    assert psnr(a, a) == MAX_PSNR


def test_ssim_known_pair():
    a = np.full((16, 16, 3), 100, np.uint8)
    c1 = (0.01 * 255) ** 2  # flat images: only the luminance term (2 mx my + C1) / (...) remains
    assert ssim(a + 10, a) == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1))
    noisy = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert ssim(noisy, noisy) == pytest.approx(1.0)
    assert ssim(noisy, a) < 0.1


def test_fidelity_per_frame_resizes_truth_and_stops_at_the_shorter_video():
    gen = [np.full((8, 8, 3), 50, np.uint8)] * 3
    truth = [np.full((16, 16, 3), 50, np.uint8)] * 2
    p, s = fidelity_per_frame(iter(gen), iter(truth))
    assert p.tolist() == [MAX_PSNR, MAX_PSNR] and s == pytest.approx([1.0, 1.0])


def scramble(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    top, right, bottom, left = box
    out = image.copy()
    face = out[top:bottom, left:right].reshape(-1, 3)
    out[top:bottom, left:right] = (
        np.random.default_rng(0).permutation(face).reshape(bottom - top, right - left, 3)
    )
    return out


def test_identity_distance_zero_for_itself_and_large_when_the_face_is_scrambled():
    photo = data.astronaut()
    box = largest_face(photo)
    assert box is not None
    reference = face_embedding(photo, box)
    blank = np.zeros_like(photo)
    dist = identity_distances(reference, [photo, scramble(photo, box), blank])
    assert dist[0] == pytest.approx(0.0, abs=1e-9)
    assert dist[1] > 0.6  # beyond dlib's same-person threshold
    assert np.isnan(dist[2])  # no face: NaN, never 0


@pytest.mark.parametrize(
    "metric,param,refusal",
    [
        ("lpips", "--lpips-weights", "pass a folder"),
        ("fvd", "--fvd-weights", "not a TorchScript I3D"),
        ("fid_vid", "--fid-vid-weights", "unreadable"),
    ],
)
def test_network_metrics_name_the_missing_weights_param(metric, param, refusal, tmp_path):
    with pytest.raises(InputError, match=param):
        require_weights(metric, None)
    with pytest.raises(InputError, match="not found"):
        require_weights(metric, tmp_path / "nope.pt")
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    with pytest.raises(InputError, match=refusal):
        load_metric_network(metric, weights)
