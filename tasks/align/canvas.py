"""The output canvas and where the photo lies on it.

The output size is decided here, once: the long side is `align.resolution` and the aspect is the
driving video's (`render.aspect`: square, or portrait 9:16). The photo is scaled, never squashed,
so its height fills the canvas: its top and bottom cut lines stay the frame's (a half-body photo
never shows empty space where its legs would be). A photo wider than the canvas is cropped at
the sides around the chosen face (the photo around the crop is kept beside it, so an animator
can still read the arms the crop cuts); a narrower one is placed around the face and extended by its
mirror image, real texture that the animator then rids of the mirrored person (photo_box says
where the photo is).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from tasks.align.face import FaceBox

CONTEXT_REACH = 1.0  # of the canvas height: how far beside a crop the kept photo reaches (an
# arm's span; a panorama's far ends would only cost the animator time)


class Placement(NamedTuple):
    """photo px -> canvas px: x' = scale * x + shift_x, y' = scale * y; box = where the photo
    lies on the canvas (top, right, bottom, left), continuous pixel edges."""

    scale: float
    shift_x: float
    box: tuple[int, int, int, int]

    def face(self, face: FaceBox) -> FaceBox:
        top, right, bottom, left = (
            round(face.top * self.scale),
            round(face.right * self.scale + self.shift_x),
            round(face.bottom * self.scale),
            round(face.left * self.scale + self.shift_x),
        )
        return FaceBox(top=top, right=right, bottom=bottom, left=left)


def multiple_of_8(value: float) -> int:
    """The nearest multiple of 8 (halves up), at least 8: H.264 and the VAE want such sizes."""
    return max(8, int(value / 8 + 0.5) * 8)


def canvas_size(resolution: int, frame_hw: tuple[int, int]) -> tuple[int, int]:
    """(h, w) with the driving frame's (h, w) aspect, long side ~= resolution, multiples of 8."""
    height, width = frame_hw
    long_side = multiple_of_8(resolution)
    short = multiple_of_8(min(height, width) / max(height, width) * long_side)
    return (long_side, short) if height >= width else (short, long_side)


def placement(photo_hw: tuple[int, int], canvas_hw: tuple[int, int], face: FaceBox) -> Placement:
    """Scale the photo to the canvas height; shift it so the face is as central as the photo's
    edges allow (cropped sides) or as its width allows (filled sides)."""
    height, width = canvas_hw
    scale = height / photo_hw[0]
    scaled_width = scaled_size(photo_hw, scale)[0]
    face_x = (face.left + face.right) / 2 * scale
    low, high = sorted((0, width - scaled_width))
    shift = int(np.clip(round(width / 2 - face_x), low, high))
    left, right = max(shift, 0), min(shift + scaled_width, width)
    return Placement(scale=scale, shift_x=shift, box=(0, right, height, left))


def scaled_size(photo_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """(w, h) of the photo resized by scale, as cv2.resize takes it."""
    return max(1, round(photo_hw[1] * scale)), max(1, round(photo_hw[0] * scale))


def scaled_photo(photo: np.ndarray, where: Placement) -> np.ndarray:
    """The whole photo at the canvas's scale (area filter)."""
    size = scaled_size(photo.shape[:2], where.scale)
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA)


def context_columns(where: Placement, canvas_hw: tuple[int, int], scaled_width: int) -> range:
    """Columns of the scaled photo kept as context where the canvas crops its sides: the crop
    and CONTEXT_REACH x the canvas height beside it, within the photo."""
    height, width = canvas_hw
    reach = round(CONTEXT_REACH * height)
    left = -int(where.shift_x)
    return range(max(0, left - reach), min(scaled_width, left + width + reach))


def place_photo(photo: np.ndarray, where: Placement, canvas_hw: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 canvas: the photo resized (area filter), cropped to the canvas or
    extended by its mirror image (cv2.BORDER_REFLECT) on the sides photo_box leaves free."""
    width = canvas_hw[1]
    scaled = scaled_photo(photo, where)
    if where.shift_x <= 0:
        return scaled[:, -int(where.shift_x) : width - int(where.shift_x)]
    _, right, _, left = where.box
    return cv2.copyMakeBorder(scaled, 0, 0, left, width - right, cv2.BORDER_REFLECT)
