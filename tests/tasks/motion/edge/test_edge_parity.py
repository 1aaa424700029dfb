"""Golden values recorded from the official Stanford-TML/EDGE code (recipe: README.md here)."""

import numpy as np
import pytest
import torch

from tasks.motion.edge.checkpoint import EdgeWeights
from tasks.motion.edge.generate import sample_windows
from tasks.motion.edge.model import DanceDecoder, EdgeConfig, load_state_dict_strict
from tests.tasks.motion.edge.edge_testkit import FIXTURES, tiny_normalizer


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "edge_official_golden.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def official_weights(golden) -> EdgeWeights:
    config = EdgeConfig(
        **{k.removeprefix("config_"): int(v) for k, v in golden.items() if k.startswith("config_")}
    )
    model = DanceDecoder(config).eval()
    state = {k.removeprefix("weight/"): torch.from_numpy(v) for k, v in golden.items()
             if k.startswith("weight/")}  # fmt: skip
    load_state_dict_strict(model, state)
    return EdgeWeights(model, tiny_normalizer())


def run(weights, cond, seed, parity):
    return sample_windows(
        weights, torch.from_numpy(cond).float(), seed=int(seed), guidance=2.0, steps=50,
        sampler="ddim", parity=parity, precision="float32",
    ).numpy()  # fmt: skip


def test_guided_forward_matches_official(golden, official_weights):
    x = torch.from_numpy(golden["fwd_x"]).float()
    cond = torch.from_numpy(golden["long_cond"][:2]).float()
    t = torch.from_numpy(golden["fwd_t"])
    with torch.inference_mode():
        out = official_weights.model.guided_forward(x, cond, t, 2.0).numpy()
    assert np.abs(out - golden["fwd_out"]).max() < 1e-5


def test_long_form_ddim_matches_official_in_parity_mode(golden, official_weights):
    out = run(official_weights, golden["long_cond"], golden["long_seed"], parity=True)
    assert out.shape == (3, 150, 151)
    assert np.abs(out - golden["long_out"]).max() < 1e-4
    assert np.abs(golden["long_out"]).max() < 1.0  # nothing saturated: the check has teeth


def test_single_window_ddim_matches_official(golden, official_weights):
    out = run(official_weights, golden["long_cond"][1:2], golden["single_seed"], parity=True)
    assert np.abs(out - golden["single_out"]).max() < 1e-4


def test_fast_mode_stays_within_1e3_of_parity(golden, official_weights):
    fast = run(official_weights, golden["long_cond"], golden["long_seed"], parity=False)
    assert np.abs(fast - golden["long_out"]).max() < 1e-3
