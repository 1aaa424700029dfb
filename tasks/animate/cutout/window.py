"""The output canvas as a window onto the photo's wider context.

Where the canvas crops the photo's sides (a square photo in a portrait video), the align stage
keeps the scaled photo around the crop as `context`. The cut-out is made and danced on it, so an
arm the crop cuts is still whole and dances (cut by the canvas, it was held in the photo's pose),
then each frame is cropped back to the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """Canvas x = context x - left; the canvas is `width` px wide, the context `context_width`."""

    left: int
    width: int
    context_width: int

    def widen(self, parts: np.ndarray) -> np.ndarray:
        """(n, h, w) canvas part maps -> (n, h, context_width), nothing outside the canvas."""
        right = self.context_width - self.width - self.left
        return np.pad(parts, ((0, 0), (0, 0), (self.left, right)))

    def to_context(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) canvas x, y -> context x, y."""
        return points + np.asarray([self.left, 0], dtype=points.dtype)

    def to_canvas(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) context x, y -> canvas x, y."""
        return points - np.asarray([self.left, 0], dtype=points.dtype)

    def box_to_context(self, box: tuple) -> tuple:
        """(top, right, bottom, left) canvas px -> context px."""
        top, right, bottom, left = box
        return top, right + self.left, bottom, left + self.left

    def crop(self, frames: np.ndarray) -> np.ndarray:
        """(n, h, context_width, ...) -> (n, h, width, ...): the canvas's part."""
        return np.ascontiguousarray(frames[:, :, self.left : self.left + self.width])
