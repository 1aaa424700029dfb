"""The evaluate stage's compute on in-memory Zarr groups."""

import logging

import numpy as np
import zarr

from tasks.base import StageContext
from tasks.evaluate.task import SPEC, strided_frames
from tests.stage_params import stage_params


def group(**arrays) -> zarr.Group:
    g = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    for name, value in arrays.items():
        g.create_array(name, shape=value.shape, dtype=value.dtype)[...] = value
    g.attrs["fps"] = 30
    return g


def test_strided_frames_crosses_block_edges():
    frames = group(frames=np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1))["frames"]
    assert [int(f[0, 0, 0]) for f in strided_frames(frames, 5)] == list(range(0, 40, 5))


def test_faceless_reference_leaves_identity_unmeasured(tmp_path):
    joints = np.zeros((40, 24, 3), np.float32)
    joints[:, :, 0] = np.linspace(0, 0.5, 40)[:, None]
    upstream = {
        "audio": group(beats=np.array([0.5, 1.0])),
        "motion": group(joints=joints),
        "align": group(
            reference=np.zeros((64, 64, 3), np.uint8), parts=np.zeros((4, 64, 64), np.uint8)
        ),
        "animate": group(frames=np.zeros((4, 64, 64, 3), np.uint8)),
    }
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    params = stage_params("evaluate", identity_stride=1, body_stride=2)
    SPEC.compute(StageContext(params, upstream, out, tmp_path, log=logging.getLogger("t")))
    metrics = out.attrs["metrics"]
    assert metrics["identity"] is None and metrics["identity_missing"] == 1.0
    # No driving body and no dancer: coverage is unmeasured (a gate flags it), nothing is left.
    assert metrics["coverage"] is None and metrics["leftovers"] == 0.0
    assert metrics["fragments"] == 0.0 and out["coverage"].shape == (2,)
    assert metrics["pfc"] == 0.0 and metrics["foot_skating"] == 0.0  # float32 glide: rounding only
    assert out["kinetic"].shape == (72,) and out["geometric"].shape == (32,)
