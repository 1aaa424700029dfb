"""The optional detectron2 DensePose R-CNN route: adapter on fake outputs, and every error path."""

import importlib.util
import os
import sys
import types

import numpy as np
import pytest
import torch
import zarr

from tasks.base import InputError, StageContext
from tasks.densepose import task as densepose_task
from tasks.densepose.colors import part_colors
from tasks.densepose.detectron2 import (
    DensePoseRCNN,
    Detection,
    check_inputs,
    detections_from_results,
    paste_parts,
)

PARAMS = {"model": "detectron2", "weights": None, "config": None, "min_score": 0.8}


@pytest.fixture
def files(tmp_path):
    weights, config = tmp_path / "model_final_162be9.pkl", tmp_path / "densepose_rcnn.yaml"
    weights.write_bytes(b"w")
    config.write_text("MODEL: {}\n")
    return str(weights), str(config)


def test_paste_resizes_clips_and_lets_the_best_score_win():
    low = Detection(np.full((2, 2), 7, np.uint8), (1.0, 1.0, 4.0, 4.0), 0.5)  # upsampled x2
    labels = np.array([[0, 3], [3, 3]], np.uint8)
    high = Detection(labels, (3.6, 3.2, 2.0, 2.0), 0.9)  # int box (3, 3, 2, 2)
    edge = Detection(np.full((3, 3), 9, np.uint8), (-1.0, 6.0, 3.0, 3.0), 0.7)  # off the frame
    parts = paste_parts([high, low, edge], 8, 6)
    expected = np.zeros((8, 6), np.uint8)
    expected[1:5, 1:5] = 7
    expected[3:5, 3:5] = [[7, 3], [3, 3]]  # label 0 leaves what is under it
    expected[6:8, 0:2] = 9
    np.testing.assert_array_equal(parts, expected)


def test_adapter_reads_extractor_results_into_exact_colours():
    results = [
        types.SimpleNamespace(labels=torch.tensor([[1, 24], [0, 2]])),
        types.SimpleNamespace(labels=torch.tensor([[5]])),
    ]
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [3.0, 1.0, 1.0, 1.0]])
    detections = detections_from_results(results, boxes, torch.tensor([0.99, 0.95]))
    assert [d.box for d in detections] == [(0.0, 0.0, 2.0, 2.0), (3.0, 1.0, 1.0, 1.0)]
    parts = paste_parts(detections, 3, 4)
    np.testing.assert_array_equal(parts, [[1, 24, 0, 0], [0, 2, 0, 5], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="one entry per person"):
        detections_from_results(results, boxes[:1], torch.tensor([0.9]))


def test_missing_weights_or_config_are_named(files, tmp_path):
    weights, config = files
    params = {"model": "detectron2", "weights": None, "config": config, "min_score": 0.8}
    with pytest.raises(InputError, match="--set densepose.weights=PATH"):
        densepose_task.SPEC.check_model(params)
    with pytest.raises(InputError, match="--set densepose.config=PATH"):
        densepose_task.SPEC.check_model(params | {"weights": weights, "config": None})
    with pytest.raises(InputError, match=r"densepose.weights: .*nope.pkl does not exist"):
        check_inputs(str(tmp_path / "nope.pkl"), config)


def test_missing_detectron2_is_named_with_its_install_line(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "detectron2", None)  # import fails even where installed
    with pytest.raises(InputError, match=r"needs detectron2, .*pip install 'git\+https"):
        DensePoseRCNN(*files, min_score=0.8)


def test_missing_densepose_project_is_named(files, monkeypatch):
    fake = types.ModuleType("detectron2")
    fake.__path__ = []
    for name in ("config", "engine"):
        monkeypatch.setitem(sys.modules, f"detectron2.{name}", types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "detectron2", fake)
    monkeypatch.setitem(sys.modules, "densepose", None)
    with pytest.raises(InputError, match="DensePose project.*subdirectory=projects/DensePose"):
        DensePoseRCNN(*files, min_score=0.8)


def _render(preview: bool) -> zarr.Group:
    render = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    render.create_array("parts", data=np.zeros((3, 8, 6), np.uint8))
    if preview:
        render.create_array("preview", data=np.full((3, 8, 6, 3), 90, np.uint8))
    render.attrs["fps"] = 30
    return render


def _run(tmp_path, render: zarr.Group, **params) -> zarr.Group:
    raw = {**PARAMS, **params}
    checked = {k: densepose_task.SPEC.params[k].check(k, v) for k, v in raw.items()}
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(params=checked, upstream={"render": render}, out=out, workdir=tmp_path)
    densepose_task.SPEC.compute(ctx)
    return out


def test_stage_needs_the_preview_render(tmp_path, files):
    with pytest.raises(InputError, match="render.preview=true"):
        _run(tmp_path, _render(preview=False), weights=files[0], config=files[1])


def test_stage_colours_the_estimated_parts(tmp_path, monkeypatch):
    seen = []

    class FakeRCNN:
        def __init__(self, weights, config, min_score):
            assert (weights, config, min_score) == ("w.pkl", "c.yaml", 0.5)

        def parts(self, frames):
            seen.append(frames.shape)
            head = Detection(np.full((2, 2), 23, np.uint8), (1, 1, 2, 2), 1.0)
            return np.stack([paste_parts([head], *frame.shape[:2]) for frame in frames])

    monkeypatch.setattr(densepose_task, "DensePoseRCNN", FakeRCNN)
    out = _run(tmp_path, _render(preview=True), weights="w.pkl", config="c.yaml", min_score=0.5)
    assert seen == [(3, 8, 6, 3)]
    assert out.attrs["model"] == "detectron2"
    np.testing.assert_array_equal(out["rgb"][:, 1, 1], np.tile(part_colors()[23], (3, 1)))
    np.testing.assert_array_equal(out["rgb"][:, 0, 0], np.tile([68, 1, 84], (3, 1)))


@pytest.mark.skipif(
    importlib.util.find_spec("detectron2") is None
    or not (os.environ.get("DENSEPOSE_WEIGHTS") and os.environ.get("DENSEPOSE_CONFIG")),
    reason="needs detectron2 + its DensePose project and $DENSEPOSE_WEIGHTS/$DENSEPOSE_CONFIG",
)
def test_real_rcnn_labels_a_rendered_body():
    from tasks.render.body import builtin_body, pose_body
    from tasks.render.camera import fit_camera, project
    from tasks.render.raster import rasterize, shaded_preview

    body = builtin_body()
    poses = np.zeros((1, 24, 3))
    poses[0, 0] = [np.pi / 2, 0, 0]
    trans = np.array([[0.0, 0.0, 1.0]])
    verts, _ = pose_body(body, poses, trans)
    camera = fit_camera(verts.min(1), verts.max(1), trans, height=512, width=512, margin=0.1,
                        follow=False)  # fmt: skip
    face_ids = rasterize(project(verts, camera, slice(0, 1)), body.faces, 512, 512)
    rgb = shaded_preview(face_ids, verts, body.faces, body.face_parts)
    rcnn = DensePoseRCNN(os.environ["DENSEPOSE_WEIGHTS"], os.environ["DENSEPOSE_CONFIG"], 0.5)
    parts = rcnn.parts(rgb)
    assert (parts[face_ids >= 0] > 0).mean() > 0.5
