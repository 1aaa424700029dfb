"""The motion stage end to end on an in-memory audio artifact."""

import logging

import numpy as np
import pytest
import zarr

from tasks.base import InputError, StageContext
from tasks.body.skeleton import forward_kinematics
from tasks.motion.task import SPEC
from tests.stage_params import stage_params

T = 150


def audio_group() -> zarr.Group:
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    onset = np.zeros(T, np.float32)
    onset[::15] = 1.0
    group.create_array("onset", shape=(T,), dtype="float32")[:] = onset
    group.create_array("beats", shape=(10,), dtype="float64")[:] = np.arange(10) * 0.5
    group.create_array("features", shape=(T, 35), dtype="float32")[:] = 0.0
    group.attrs.update({"fps": 30, "num_frames": T, "duration": 5.0, "tempo": 120.0})
    return group


def run(tmp_path, **params) -> zarr.Group:
    values = stage_params("motion", model="choreographer", **params)
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(
        params=values,
        upstream={"audio": audio_group()},
        out=out,
        workdir=tmp_path,
        log=logging.getLogger("test"),
    )
    SPEC.compute(ctx)
    return out


def test_motion_stage_writes_the_contract(tmp_path):
    out = run(tmp_path)
    shapes = {name: out[name].shape for name in ("poses", "trans", "joints", "motion151")}
    assert shapes == {
        "poses": (T, 24, 3),
        "trans": (T, 3),
        "joints": (T, 24, 3),
        "motion151": (T, 151),
    }
    assert all(out[name].dtype == np.float32 for name in shapes)
    assert dict(out.attrs) == {"fps": 30, "num_frames": T, "model": "choreographer"}
    joints = forward_kinematics(out["poses"][:], out["trans"][:])
    assert np.allclose(out["joints"][:], joints, atol=1e-5)
    assert np.allclose(out["motion151"][:, 4:7], out["trans"][:])


def test_energy_and_seed_params(tmp_path):
    still = run(tmp_path, energy=0.0)["joints"][:]
    lively = run(tmp_path, energy=1.5, seed=4)["joints"][:]
    assert np.ptp(lively, axis=0).max() > 3 * np.ptp(still, axis=0).max()
    with pytest.raises(InputError, match="maximum"):
        SPEC.params["energy"].check("energy", 3.0)
    with pytest.raises(InputError, match="one of"):
        SPEC.params["model"].check("model", "bailando")
