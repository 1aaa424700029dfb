"""TikTok-format training data for the face adapter: frames + DensePose per video.

Layout (the TikTok dataset of Jafarian & Park 2021 as DisCo / MagicAnimate prepare it):

    ROOT/<video>/images/0001.png ...     RGB frames
    ROOT/<video>/densepose/0001.png ...  DensePose renderings (same names)
    ROOT/<video>/faces.json              optional: {"0001": [top, right, bottom, left], ...}

A sample is a window of consecutive frames with their DensePose, a reference frame drawn from the
same video, and the reference's face crop. Face boxes come from faces.json when given, else from
the align stage's detector (dlib HOG), once per reference frame. Each image is padded to a square
(black, which is also DensePose's background) and resized, so nothing of the body is cropped.
Sample i of a seed is always the same, so a resumed run sees the data an unbroken one would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tasks.animate.magicanimate.stage import face_crop
from tasks.animate.magicanimate.train import TrainingClip
from tasks.base import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_REFERENCE_TRIES = 8  # reference frames tried per sample before giving up on a face


@dataclass(frozen=True)
class Video:
    name: str
    frames: list[Path]
    densepose: list[Path]
    faces: dict[str, list[int]]


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_video(folder: Path, window: int) -> Video:
    """One video folder, checked: both subfolders, matching names, at least `window` frames."""
    images, densepose = folder / "images", folder / "densepose"
    if not images.is_dir() or not densepose.is_dir():
        raise InputError(f"{folder}: needs images/ and densepose/ subfolders (TikTok layout)")
    frames, poses = _images(images), _images(densepose)
    if [p.stem for p in frames] != [p.stem for p in poses]:
        raise InputError(
            f"{folder}: images/ and densepose/ hold different frame names "
            f"({len(frames)} vs {len(poses)} files); render DensePose for every frame"
        )
    if len(frames) < window:
        raise InputError(f"{folder}: {len(frames)} frames, fewer than the window of {window}")
    faces_file = folder / "faces.json"
    faces = json.loads(faces_file.read_text()) if faces_file.is_file() else {}
    return Video(folder.name, frames, poses, faces)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Pad to a centred black square, then resize to size x size."""
    h, w = image.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    padded = np.zeros((side, side, 3), np.uint8)
    padded[top : top + h, left : left + w] = image
    return cv2.resize(padded, (size, size), interpolation=cv2.INTER_AREA)


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class TikTokDataset:
    """Deterministic training windows over every video under `root`."""

    def __init__(self, root: str | Path, window: int = 16, resolution: int = 512, seed: int = 0):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise InputError(f"--data {root}: not a folder (expected ROOT/<video>/images/)")
        folders = sorted(p for p in root.iterdir() if p.is_dir())
        if not folders:
            raise InputError(f"--data {root}: no video folders (expected ROOT/<video>/images/)")
        if resolution % 64:
            raise InputError(f"--resolution {resolution}: use a multiple of 64 (e.g. 512)")
        self.videos = [read_video(f, window) for f in folders]
        self.window, self.resolution, self.seed = window, resolution, seed
        self._boxes: dict[Path, list[int] | None] = {}

    def __len__(self) -> int:
        return sum(len(v.frames) - self.window + 1 for v in self.videos)

    def sample(self, index: int) -> TrainingClip:
        """Training window number `index` of this seed (any index; the same every call)."""
        rng = np.random.default_rng((self.seed, index))
        video = self.videos[rng.integers(len(self.videos))]
        start = int(rng.integers(len(video.frames) - self.window + 1))
        picks = range(start, start + self.window)
        frames = np.stack([self._square(video.frames[i]) for i in picks])
        densepose = np.stack([self._square(video.densepose[i]) for i in picks])
        for _ in range(MAX_REFERENCE_TRIES):
            ref_path = video.frames[int(rng.integers(len(video.frames)))]
            box = self._face_box(video, ref_path)
            if box is not None:
                reference = self._square(ref_path)
                return TrainingClip(frames, densepose, reference, face_crop(reference, box))
        raise InputError(
            f"{video.name}: no face found in {MAX_REFERENCE_TRIES} reference frames; "
            "add faces.json boxes or drop the video"
        )

    def _square(self, path: Path) -> np.ndarray:
        return square(load_rgb(path), self.resolution)

    def _face_box(self, video: Video, path: Path) -> list[int] | None:
        """The face box in the squared frame's pixels, or None when there is no face."""
        if path not in self._boxes:
            image = load_rgb(path)
            box = video.faces.get(path.stem)
            if box is None:
                from tasks.align.face import detect_face

                try:
                    found = detect_face(image, path.name)
                except InputError:
                    found = None
                box = None if found is None else list(found)
            size = self.resolution
            self._boxes[path] = None if box is None else _to_square(box, image.shape, size)
        return self._boxes[path]


def _to_square(box: list[int], shape: tuple[int, ...], size: int) -> list[int]:
    """A [top, right, bottom, left] box moved into the padded, resized square."""
    side = max(shape[:2])
    top, left = (side - shape[0]) // 2, (side - shape[1]) // 2
    scale = size / side
    t, r, b, lft = box
    return [round((t + top) * scale), round((r + left) * scale), round((b + top) * scale),
            round((lft + left) * scale)]  # fmt: skip
