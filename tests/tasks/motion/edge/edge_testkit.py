"""Tiny seeded EDGE models and fixture paths shared by the EDGE tests (CPU, milliseconds)."""

from pathlib import Path

import numpy as np
import torch

from tasks.motion.edge.checkpoint import EdgeWeights, MinMaxNormalizer
from tasks.motion.edge.model import DanceDecoder, EdgeConfig
from tests.stage_params import stage_params

FIXTURES = Path(__file__).parent / "fixtures"
TINY = EdgeConfig(latent_dim=16, ff_size=32, num_layers=1, num_heads=2, cond_feature_dim=35)


def sampling(**changes) -> dict:
    """EDGE's sampling settings from params/defaults.yaml, fp32 unless `precision` is given
    (so results do not depend on this CPU's bf16 support)."""
    params = stage_params("motion", **({"precision": "float32"} | changes))
    return {key: params[key] for key in ("guidance", "steps", "sampler", "parity", "precision")}


def tiny_normalizer(seed: int = 0) -> MinMaxNormalizer:
    """Scaler of a plausible motion range: root within +-2 m, 6D within +-1, contacts 0..1."""
    rng = np.random.default_rng(seed)
    low = np.concatenate([np.zeros(4), -2 * np.ones(3), -np.ones(144)]) - rng.uniform(0, 0.1, 151)
    high = np.concatenate([np.ones(4), 2 * np.ones(3), np.ones(144)]) + rng.uniform(0, 0.1, 151)
    scale = 2.0 / (high - low)
    return MinMaxNormalizer(scale.astype(np.float32), (-1 - low * scale).astype(np.float32))


def make_tiny_weights() -> EdgeWeights:
    torch.manual_seed(0)
    model = DanceDecoder(TINY).eval()
    with torch.no_grad():
        model.final_layer.weight.mul_(0.3)  # stay inside the +-1 clamp
    return EdgeWeights(model, tiny_normalizer())
