"""Tiny models run single-threaded: their ops are too small to share out, and on a busy machine
torch's thread pool spins (8.7 s vs 0.5 s for the segment loop on 2 loaded cores)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
