"""motion.precision: which dtype the fast sampler picks, and how far bf16 moves the joints."""

import numpy as np
import pytest
import torch

from tasks.motion.edge.generate import generate
from tasks.motion.edge.precision import cpu_has_native_bf16, sampling_dtype
from tests.tasks.motion.edge.edge_testkit import sampling


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "native"),
    [(True, False, True), (False, True, True), (False, False, False)],
)
def test_auto_picks_bf16_on_cuda_and_on_cpus_with_native_bf16(
    monkeypatch, avx512_bf16, amx, native
):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert cpu_has_native_bf16() is native
    assert sampling_dtype("auto", "cpu", parity=False) == (
        torch.bfloat16 if native else torch.float32
    )
    assert sampling_dtype("auto", "cuda", parity=False) == torch.bfloat16
    assert sampling_dtype("float32", "cuda", parity=False) == torch.float32
    assert sampling_dtype("bfloat16", "cpu", parity=False) == torch.bfloat16
    for precision in ("auto", "bfloat16"):  # parity always computes in fp32
        assert sampling_dtype(precision, "cuda", parity=True) == torch.float32


def test_a_torch_without_the_probes_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert not cpu_has_native_bf16()


def test_bf16_joints_stay_near_fp32_over_the_full_50_step_sampler(tiny_weights):
    music = np.random.default_rng(0).normal(size=(225, 35)).astype(np.float32)  # 2 windows
    run = {p: generate(tiny_weights, music, seed=0, **sampling(precision=p)) for p in
           ("float32", "bfloat16")}  # fmt: skip
    assert sampling()["steps"] == 50
    diff = np.linalg.norm(run["bfloat16"].joints - run["float32"].joints, axis=-1)  # metres
    assert diff.max() > 0  # bf16 did run
    assert np.median(diff) < 0.01 and diff.max() < 0.3, (np.median(diff), diff.max())
    parity = sampling(parity=True, precision="bfloat16")
    assert np.array_equal(  # parity ignores precision
        generate(tiny_weights, music, seed=0, **parity).joints,
        generate(tiny_weights, music, seed=0, **sampling(parity=True)).joints,
    )
