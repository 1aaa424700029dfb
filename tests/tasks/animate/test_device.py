from unittest import mock

import torch

from tasks.animate.device import device_and_dtype


def test_auto_on_cpu_is_fp32_whatever_the_release_dtype() -> None:
    with mock.patch("torch.cuda.is_available", return_value=False):
        assert device_and_dtype("auto", "auto", torch.float16) == (
            torch.device("cpu"),
            torch.float32,
        )


def test_auto_on_cuda_is_the_release_dtype() -> None:
    with mock.patch("torch.cuda.is_available", return_value=True):
        assert device_and_dtype("auto", "auto", torch.bfloat16) == (
            torch.device("cuda"),
            torch.bfloat16,
        )
    assert device_and_dtype("cuda", "auto", torch.float16)[1] == torch.float16


def test_an_explicit_precision_wins() -> None:
    assert device_and_dtype("cpu", "bfloat16", torch.float16)[1] == torch.bfloat16
