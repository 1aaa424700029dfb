"""Reference photo: load it safely and find the face that the driving head is aligned to.

Face detection is face_recognition's HOG detector (dlib), run on a copy no larger than
`DETECT_LONG_SIDE` so a 24-megapixel phone photo costs the same as a 800 px one.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tasks.base import InputError

MIN_SIDE = 64  # px; smaller photos cannot hold a detectable face
MAX_SIDE = 8192  # px; larger photos are refused before decoding
DETECT_LONG_SIDE = 800  # px; detection runs on a copy downscaled to this long side
MIN_FACE = 40  # px in the detection copy: the HOG window (80 px) after one 2x upsample
_DETECTOR_LOCK = threading.Lock()  # dlib's HOG detector is a shared global, not thread-safe
WEAK_SCORE = 0.3  # HOG score below which a detection only counts if nothing scores higher

log = logging.getLogger(__name__)


class FaceBox(NamedTuple):
    """A face_recognition box in image pixels: brows to chin, (top, right, bottom, left)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return (self.bottom - self.top) * (self.right - self.left)


def _gray_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float gray as 8-bit 'L', rescaled: PIL's convert() clips them at 255.
    I;16 spans 0..65535; 'I' and 'F' the smallest of the 8/16/32-bit ranges holding the data
    ('F' in 0..1 as 0..1)."""
    values = np.asarray(img, dtype=np.float64)
    peak = float(values.max(initial=0.0))
    if img.mode.startswith("I;16"):
        full = 65535.0
    elif img.mode == "F" and peak <= 1.0:
        full = 1.0
    else:
        full = next((2.0**bits - 1 for bits in (8, 16, 32) if peak < 2.0**bits), peak)
    return Image.fromarray(np.clip(np.rint(values * (255.0 / full)), 0, 255).astype(np.uint8))


def load_reference(path: Path) -> np.ndarray:
    """The photo as (H, W, 3) uint8 RGB, EXIF orientation applied, alpha composited on white;
    any bit depth and mode (16-bit, gray, palette, CMYK) scaled to 8 bits."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image {path} not found: pass the path of an existing photo")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if max(width, height) > MAX_SIDE:
                raise InputError(
                    f"image {path} is too large ({width}x{height} px): "
                    f"resize it to at most {MAX_SIDE} px on each side"
                )
            if min(width, height) < MIN_SIDE:
                raise InputError(
                    f"image {path} is too small ({width}x{height} px): "
                    f"use a photo at least {MIN_SIDE} px on each side"
                )
            img = ImageOps.exif_transpose(img)
            if img.mode.startswith("I") or img.mode == "F":
                img = _gray_to_8bit(img)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img.alpha_composite(rgba)
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except Image.DecompressionBombError as err:
        raise InputError(
            f"image {path} is too large to decode safely ({err}): resize it to at most "
            f"{MAX_SIDE} px on each side"
        ) from err
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise InputError(
            f"{path} is not a readable image ({err}): use a JPEG or PNG photo"
        ) from err


def _downscaled(image: np.ndarray) -> tuple[np.ndarray, float]:
    """A copy with long side <= DETECT_LONG_SIDE and its scale factor (copy px / image px)."""
    scale = min(1.0, DETECT_LONG_SIDE / max(image.shape[:2]))
    if scale == 1.0:
        return np.ascontiguousarray(image), 1.0
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _detections(image: np.ndarray) -> list[tuple[FaceBox, float]]:
    """HOG detections (box, score) in an (H, W, 3) uint8 image, best score first.

    Detection first runs without upsampling (fast, fewer false positives, faces >= 80 px) and
    only upsamples once when that finds nothing (faces >= 40 px).
    """
    from face_recognition.api import face_detector  # slow import (dlib models)

    for upsample in (0, 1):
        with _DETECTOR_LOCK:
            rects, scores, _ = face_detector.run(image, upsample, 0.0)
        if rects:
            break
    found = [
        (FaceBox(r.top(), r.right(), r.bottom(), r.left()), s)
        for r, s in zip(rects, scores, strict=True)
    ]
    return sorted(found, key=lambda item: -item[1])


def detect_faces(image: np.ndarray, name: str = "the image") -> list[FaceBox]:
    """The confident faces in an (H, W, 3) uint8 photo, in its pixels, from left to right.

    Detections scoring below WEAK_SCORE are ignored when a stronger one exists: on the astronaut
    photo the mission patch scores 0.03-0.15 (and can be larger than the face), the face 1.2-1.7.
    """
    small, scale = _downscaled(image)
    found = _detections(small)
    if not found:
        min_face = round(MIN_FACE / scale)
        raise InputError(
            f"no face found in {name}: use a photo where the person's face is visible "
            f"and at least ~{min_face} px tall"
        )
    faces = [box for box, score in found if score >= WEAK_SCORE] or [found[0][0]]
    height, width = image.shape[:2]
    boxes = [
        FaceBox(
            top=max(round(top / scale), 0),
            right=min(round(right / scale), width),
            bottom=min(round(bottom / scale), height),
            left=max(round(left / scale), 0),
        )
        for top, right, bottom, left in faces
    ]
    return sorted(boxes, key=lambda box: box.left + box.right)


def main_person(faces: list[FaceBox], width: int) -> int:
    """Index of the largest, most central face: its area, discounted by up to half towards the
    photo's side edges, is the largest."""

    def weight(box: FaceBox) -> float:
        off_centre = abs((box.left + box.right) / 2 - width / 2) / (width / 2)
        return box.area * (1.0 - 0.5 * min(off_centre, 1.0))

    return max(range(len(faces)), key=lambda i: weight(faces[i]))


def choose_person(
    faces: list[FaceBox], width: int, name: str, person: int, logger: logging.Logger = log
) -> int:
    """Index into faces (left to right) of the person to animate in a photo `width` px wide.

    person 0 takes the largest, most central face and, when there are several, says so in one
    warning line on logger; person N >= 1 takes the N-th face from the left.
    """
    if person > len(faces):
        raise InputError(
            f"align.person={person} but {name} shows {len(faces)} face(s): "
            f"pick 1..{len(faces)} (counted from the left) or 0 for the largest, most central"
        )
    if person:
        return person - 1
    chosen = main_person(faces, width)
    if len(faces) > 1:
        box = faces[chosen]
        logger.warning(
            "%d people in %s: animating the largest, most central one (#%d from the left, face "
            "at x=%d..%d px); pick another with --set align.person=N (1..%d, from the left)",
            len(faces),
            name,
            chosen + 1,
            box.left,
            box.right,
            len(faces),
        )
    return chosen


def detect_face(image: np.ndarray, name: str = "the image", person: int = 0) -> FaceBox:
    """The face of the person to animate in an (H, W, 3) uint8 photo (see choose_person)."""
    faces = detect_faces(image, name)
    return faces[choose_person(faces, image.shape[1], name, person)]


def faces_in_file(path: Path) -> list[FaceBox]:
    """`detect_faces` of the photo at `path`, memoised on the file's identity (path, size,
    mtime) for this process, so the preflight's detection is the align stage's."""
    stat = Path(path).stat()
    return list(_faces_in_file(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _faces_in_file(path: str, size: int, mtime_ns: int) -> tuple[FaceBox, ...]:
    return tuple(detect_faces(load_reference(Path(path)), name=path))


def validate_reference(path: Path) -> FaceBox:
    """Preflight for the flow: the photo loads and shows a face (about 0.1-0.5 s)."""
    return faces_in_file(path)[0]
