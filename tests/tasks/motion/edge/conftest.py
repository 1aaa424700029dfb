"""Fixtures of the EDGE tests."""

import pytest
import torch

from tasks.motion.edge.checkpoint import EdgeWeights
from tests.tasks.motion.edge.edge_testkit import make_tiny_weights


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and far faster when other jobs load the CPU."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_weights() -> EdgeWeights:
    return make_tiny_weights()
