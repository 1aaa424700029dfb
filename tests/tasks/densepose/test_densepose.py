"""DensePose colours and the densepose stage."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import zarr

from tasks.base import StageContext
from tasks.densepose.colors import colorize, part_colors
from tasks.densepose.task import SPEC
from tests.stage_params import stage_params

REFERENCE = Path("/work/shared/reference/densepose_viridis_parts.json")


def test_table_matches_opencv_viridis_exactly():
    scaled = np.clip(np.arange(25) * 255 / 24, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(scaled[None], cv2.COLORMAP_VIRIDIS)[0]
    np.testing.assert_array_equal(part_colors(), bgr[:, ::-1])
    assert tuple(part_colors()[0]) == (68, 1, 84)
    assert tuple(part_colors()[24]) == (253, 231, 37)


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference table not on this machine")
def test_table_matches_reference_file():
    table = json.loads(REFERENCE.read_text())
    expected = np.array([table[str(i)]["rgb"] for i in range(25)], dtype=np.uint8)
    np.testing.assert_array_equal(part_colors(), expected)


def test_colorize_maps_every_pixel():
    parts = np.arange(25, dtype=np.uint8).reshape(1, 5, 5).repeat(2, axis=0)
    rgb = colorize(parts)
    assert rgb.shape == (2, 5, 5, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[1, 4, 4], part_colors()[24])
    np.testing.assert_array_equal(rgb[0, 0, 0], [68, 1, 84])
    with pytest.raises(ValueError, match="0..24"):
        colorize(np.full((2, 2), 25, dtype=np.uint8))


def test_stage_copies_parts_and_colours_them(tmp_path):
    rng = np.random.default_rng(0)
    parts = rng.integers(0, 25, (13, 16, 12), dtype=np.uint8)
    render = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    render.create_array("parts", data=parts, chunks=(8, 16, 12))
    render.attrs["fps"] = 30
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    params = stage_params("densepose", model="mesh")
    SPEC.compute(
        StageContext(params=params, upstream={"render": render}, out=out, workdir=tmp_path)
    )
    np.testing.assert_array_equal(out["parts"][:], parts)
    np.testing.assert_array_equal(out["rgb"][:], part_colors()[parts])
    assert out["rgb"].chunks == (8, 16, 12, 3) and out["parts"].chunks == (8, 16, 12)
    assert out.attrs["fps"] == 30 and out.attrs["model"] == "mesh"
