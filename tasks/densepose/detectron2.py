"""DensePose R-CNN (detectron2's DensePose project) on the rendered RGB frames -> part maps.

The optional route `densepose.model=detectron2`, the seed report's method: estimate DensePose on
the shaded preview render (`render.preview=true`) the way MagicAnimate's driving videos were
made (vid2densepose: DefaultPredictor -> DensePoseResultExtractor -> fine part labels pasted into
each box), then colour with the same table as the exact mesh route. Needs, none of it on PyPI:

    pip install 'git+https://github.com/facebookresearch/detectron2.git'
    pip install 'git+https://github.com/facebookresearch/detectron2.git#subdirectory=projects/DensePose'

plus a config from that repository (projects/DensePose/configs/densepose_rcnn_R_50_FPN_s1x.yaml,
with its Base-DensePose-RCNN-FPN.yaml beside it) and the matching weights from the DensePose model
zoo (model_final_162be9.pkl). detectron2 and densepose are imported lazily, only on this route.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tasks.base import InputError

DETECTRON2_PIP = "pip install 'git+https://github.com/facebookresearch/detectron2.git'"
DENSEPOSE_PIP = (
    "pip install "
    "'git+https://github.com/facebookresearch/detectron2.git#subdirectory=projects/DensePose'"
)


@dataclass(frozen=True)
class Detection:
    """One person: fine part labels (h, w) uint8 0..24 over its box (x, y, w, h) pixels."""

    labels: np.ndarray
    box: tuple[float, float, float, float]
    score: float


def paste_parts(detections: Sequence[Detection], height: int, width: int) -> np.ndarray:
    """(H, W) uint8 part map: each box's labels, resized (nearest) to the integer box, written where
    non-zero; higher scores are drawn last so they win where people overlap."""
    parts = np.zeros((height, width), dtype=np.uint8)
    for det in sorted(detections, key=lambda d: d.score):
        x, y, w, h = (int(v) for v in det.box)
        if w <= 0 or h <= 0:
            continue
        labels = np.asarray(det.labels, dtype=np.uint8)
        if labels.shape != (h, w):
            labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
        # Clip the box to the frame.
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        if x0 >= x1 or y0 >= y1:
            continue
        crop = labels[y0 - y : y1 - y, x0 - x : x1 - x]
        target = parts[y0:y1, x0:x1]
        target[crop > 0] = crop[crop > 0]
    return parts


def detections_from_results(
    results: Sequence[Any], boxes_xywh: Any, scores: Any
) -> list[Detection]:
    """Adapter for `DensePoseResultExtractor()(instances)`: chart results with `.labels` (h, w)
    tensors, boxes (N, 4) xywh and scores (N,), tensors or arrays."""
    boxes = np.asarray(_numpy(boxes_xywh), dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(_numpy(scores), dtype=np.float64).reshape(-1)
    if not (len(results) == len(boxes) == len(scores)):
        raise ValueError("DensePose results, boxes and scores must have one entry per person")
    return [
        Detection(np.asarray(_numpy(r.labels)).astype(np.uint8), tuple(b), float(s))
        for r, b, s in zip(results, boxes, scores, strict=True)
    ]


def _numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def check_inputs(weights: str, config: str) -> tuple[Path, Path]:
    """The weights and config files, checked before anything heavy is imported (unset ones are
    the planner's: the densepose stage's SPEC declares them)."""
    paths = Path(weights).expanduser(), Path(config).expanduser()
    for name, path in zip(("weights", "config"), paths, strict=True):
        if not path.is_file():
            raise InputError(f"densepose.{name}: {path} does not exist")
    return paths


def _import(module: str, install: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            f"densepose.model=detectron2 needs {what}, which is not installed: {install}"
        ) from None


class DensePoseRCNN:
    """detectron2's DefaultPredictor with a DensePose config; `parts` maps RGB frames to parts."""

    def __init__(
        self, weights: str, config: str, min_score: float, device: str | None = None
    ) -> None:
        weights_path, config_path = check_inputs(weights, config)
        d2_config = _import("detectron2.config", DETECTRON2_PIP, "detectron2")
        d2_engine = _import("detectron2.engine", DETECTRON2_PIP, "detectron2")
        densepose = _import("densepose", DENSEPOSE_PIP, "detectron2's DensePose project")
        extractor = _import(
            "densepose.vis.extractor", DENSEPOSE_PIP, "detectron2's DensePose project"
        )
        import torch

        cfg = d2_config.get_cfg()
        densepose.add_densepose_config(cfg)
        cfg.merge_from_file(os.fspath(config_path))
        cfg.MODEL.WEIGHTS = os.fspath(weights_path)
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
        cfg.MODEL.DEVICE = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cfg.freeze()
        self._torch = torch
        self._predictor = d2_engine.DefaultPredictor(cfg)
        self._extract = extractor.DensePoseResultExtractor()

    def parts(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W) uint8 part maps for RGB frames (T, H, W, 3) uint8."""
        out = np.zeros(frames.shape[:3], dtype=np.uint8)
        for t, rgb in enumerate(frames):
            with self._torch.no_grad():
                # DefaultPredictor takes BGR (cfg.INPUT.FORMAT).
                instances = self._predictor(np.ascontiguousarray(rgb[..., ::-1]))["instances"]
            instances = instances.to("cpu")
            if len(instances) == 0:
                continue
            results, boxes = self._extract(instances)
            if results is None:
                continue
            detections = detections_from_results(results, boxes, instances.scores)
            out[t] = paste_parts(detections, *out.shape[1:])
        return out
