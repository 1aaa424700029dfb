"""The motion stage with motion.model=edge on an in-memory audio artifact."""

import logging
from dataclasses import replace

import numpy as np
import pytest
import zarr

from params import load_defaults
from tasks.base import InputError, StageContext
from tasks.body.skeleton import forward_kinematics
from tasks.motion.edge.checkpoint import save_converted
from tasks.motion.edge.generate import generate
from tasks.motion.edge.params import PARAMS
from tasks.motion.task import SPEC, compute
from tests.tasks.motion.edge.edge_testkit import make_tiny_weights

T = 100


def audio_group() -> zarr.Group:
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    features = np.random.default_rng(0).normal(size=(T, 35)).astype(np.float32)
    group.create_array("features", shape=(T, 35), dtype="float32")[:] = features
    group.attrs.update({"fps": 30, "num_frames": T, "duration": T / 30, "tempo": 120.0})
    return group


def run(tmp_path, audio: zarr.Group | None = None, **params) -> zarr.Group:
    values = load_defaults()["motion"] | {"model": "edge", "steps": 3} | params
    for name, rule in PARAMS.items():
        values[name] = rule.check(name, values[name])
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(
        params=values, upstream={"audio": audio or audio_group()}, out=out, workdir=tmp_path,
        log=logging.getLogger("test"),
    )  # fmt: skip
    compute(ctx)
    return out


def test_edge_model_writes_the_motion_contract(tmp_path):
    folder = save_converted(make_tiny_weights(), tmp_path / "edge")
    out = run(tmp_path, checkpoint=str(folder))
    assert out["poses"].shape == (T, 24, 3) and out["motion151"].shape == (T, 151)
    assert np.allclose(out["joints"][:], forward_kinematics(out["poses"][:], out["trans"][:]),
                       atol=1e-5)  # fmt: skip
    assert out.attrs["model"] == "edge"
    again = run(tmp_path, checkpoint=str(folder))
    assert np.array_equal(out["poses"][:], again["poses"][:])


def test_missing_checkpoint_param_names_the_fix():
    params = load_defaults()["motion"] | {"model": "edge", "checkpoint": None}
    with pytest.raises(InputError, match=r"--set motion.checkpoint=PATH \(or motion.model=library"):
        SPEC.check_model(params)


def test_a_checkpoint_trained_on_edge_features_gets_edge_features(tmp_path, monkeypatch):
    weights = replace(make_tiny_weights(), features="edge")
    folder = save_converted(weights, tmp_path / "edge")
    windows = np.random.default_rng(1).normal(size=(1, 150, 35)).astype(np.float32)
    expected = generate(
        weights, windows, num_frames=T, seed=0, guidance=2.0, steps=3, sampler="ddim",
        parity=False, precision="float32",
    ).poses  # fmt: skip
    audio = audio_group()  # audio.features=edge: the artifact holds them
    audio.create_array("edge_windows", data=windows)
    out = run(tmp_path, audio, checkpoint=str(folder), precision="float32")
    np.testing.assert_allclose(out["poses"][:], expected, atol=1e-6)
    calls = []  # audio.features=song: computed from the music file on the spot
    monkeypatch.setattr(
        "tasks.motion.edge.stage.edge_windows_of_file",
        lambda path, num_frames: calls.append(num_frames) or windows,
    )
    out = run(tmp_path, checkpoint=str(folder), precision="float32")
    assert calls == [T]
    np.testing.assert_allclose(out["poses"][:], expected, atol=1e-6)
