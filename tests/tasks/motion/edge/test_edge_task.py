"""The motion stage with motion.model=edge on an in-memory audio artifact."""

import logging

import numpy as np
import pytest
import zarr

from params import load_defaults
from tasks.base import InputError, StageContext
from tasks.body.skeleton import forward_kinematics
from tasks.motion.edge.checkpoint import save_converted
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


def run(tmp_path, **params) -> zarr.Group:
    values = load_defaults()["motion"] | {"model": "edge", "steps": 3} | params
    for name, rule in PARAMS.items():
        values[name] = rule.check(name, values[name])
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(
        params=values, upstream={"audio": audio_group()}, out=out, workdir=tmp_path,
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
