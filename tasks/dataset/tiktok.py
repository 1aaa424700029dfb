"""The TikTok-dataset folder layout (as DisCo / MagicAnimate prepare it) for one clip:

    <video>/images/0001.png ...     output frames
    <video>/densepose/0001.png ...  the driving DensePose frames, same names
    <video>/faces.json              {"0001": [top, right, bottom, left], ...}
    <video>/reference.png           the aligned reference photo (extra; readers ignore it)

`tasks/animate/magicanimate/dataset.py` (train-animator) reads exactly this.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from tasks.align.transform import CROWN_ABOVE_BOX, head_boxes


def frame_name(index: int) -> str:
    return f"{index + 1:04d}"


def face_boxes(parts: np.ndarray, head_to_face: float) -> dict[str, list[int]]:
    """Face box per frame of (T, H, W) aligned part maps, from the head parts: the inverse of the
    align stage's face -> head rule (crown CROWN_ABOVE_BOX face heights above the box, head
    height head_to_face face heights). Frames without a visible head get no entry."""
    boxes = {}
    for i, (top, right, bottom, left) in enumerate(head_boxes(parts)):
        if np.isnan(top):
            continue
        face = (bottom - top) / head_to_face
        face_top = top + CROWN_ABOVE_BOX * face
        centre = (left + right) / 2
        box = [face_top, centre + face / 2, face_top + face, centre - face / 2]
        boxes[frame_name(i)] = [round(v) for v in box]
    return boxes


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def write_video_folder(
    folder: Path,
    frames: Iterable[np.ndarray],
    densepose: Iterable[np.ndarray],
    faces: dict[str, list[int]],
    reference: np.ndarray,
) -> None:
    """One clip's folder from (N, H, W, 3) uint8 chunks of output and DensePose frames, written
    under a hidden name and renamed, so a listed folder is always complete."""
    tmp = folder.with_name(f".{folder.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        for sub, chunks in (("images", frames), ("densepose", densepose)):
            (tmp / sub).mkdir(parents=True)
            index = 0
            for chunk in chunks:
                for image in chunk:
                    _write_png(tmp / sub / f"{frame_name(index)}.png", image)
                    index += 1
        (tmp / "faces.json").write_text(json.dumps(faces))
        _write_png(tmp / "reference.png", reference)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def stale_folders(root: Path) -> list[Path]:
    """Half-written clip folders a killed export left under `root`."""
    return sorted(root.glob("*/.*.partial-*"))
