"""One intra-op thread for these tests: the tiny models' ops are too small to split, and on a busy
2-core machine OpenMP's waiting threads made each op 10x slower."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
