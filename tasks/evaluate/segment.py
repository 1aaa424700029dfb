"""Person segmentation of any image, for the body metrics: MediaPipe Pose's mask and landmarks.

MediaPipe Pose 0.10.21 (`solutions` API, model bundled in the wheel, nothing downloaded) finds one
person and returns a soft mask and 33 landmarks. The metrics read the animator's output only
through this, never through an animator's own matte, so every animator is judged alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import numpy as np

PERSON = 0.5  # segmentation probability above which a pixel is person
AROUND = 0.25  # `near` looks this far around the region, fraction of its size (each side)
SLACK = 0.1  # ... and this far more, fraction of the image's long side (the dancer may slide)
FOUND = 0.5  # share of the region the person found must cover, or it is looked at again:
TIGHT = 0.05  # ... this far around it only


@dataclass(frozen=True)
class Person:
    """mask (h, w) float32 in [0, 1]; landmarks (33, 3) [x px, y px, visibility] or None."""

    mask: np.ndarray
    landmarks: np.ndarray | None


class PersonSegmenter:
    """MediaPipe Pose with segmentation, detecting the person afresh in each image. Its video
    mode (tracking between calls) is not used: in a frame with two people it jumped to the other
    one (multi1: 9 of 30 sampled frames, fragments and coverage read off the wrong woman), and
    detecting costs 33 ms a frame against 23. Use as a context manager."""

    def __init__(self) -> None:
        from mediapipe.python.solutions.pose import Pose

        self._pose = Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)

    def __enter__(self) -> PersonSegmenter:
        return self

    def __exit__(
        self, kind: type | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._pose.close()

    def near(self, image: np.ndarray, region: np.ndarray) -> Person:
        """The person in the crop of image (h, w, 3) around region (h, w) bool (the driving
        body), so that a second person elsewhere in the frame is not the one found. When the
        one found covers less than FOUND of the region (the crop held a second person, who was
        found instead: multi1's other woman, 4 of 60 frames), the region is looked at again
        with only TIGHT around it."""
        rows, cols = np.nonzero(region)
        if not rows.size:
            return self(image)
        found = self._around(image, rows, cols, AROUND, SLACK)
        if _covers(found, region) < FOUND:
            tight = self._around(image, rows, cols, TIGHT, 0.0)
            if _covers(tight, region) > _covers(found, region):
                found = tight
        return found

    def _around(
        self, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, around: float, slack: float
    ) -> Person:
        """The person in the crop of image around the pixels (rows, cols), `around` of their
        extent and `slack` of the image's long side each side."""
        height, width = image.shape[:2]
        slack = slack * max(height, width)
        pad_y, pad_x = around * np.ptp(rows) + slack, around * np.ptp(cols) + slack
        top, bottom = max(0, int(rows.min() - pad_y)), min(height, int(rows.max() + pad_y) + 1)
        left, right = max(0, int(cols.min() - pad_x)), min(width, int(cols.max() + pad_x) + 1)
        found = self(image[top:bottom, left:right])
        mask = np.zeros((height, width), np.float32)
        mask[top:bottom, left:right] = found.mask
        marks = None if found.landmarks is None else found.landmarks + (left, top, 0)
        return Person(mask, marks)

    def __call__(self, image: np.ndarray) -> Person:
        """The person in an (h, w, 3) uint8 RGB image; an all-zero mask when none is found."""
        height, width = image.shape[:2]
        result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return Person(np.zeros((height, width), np.float32), None)
        marks = np.array(
            [(m.x * width, m.y * height, m.visibility) for m in result.pose_landmarks.landmark]
        )
        return Person(result.segmentation_mask.astype(np.float32), marks)


def _covers(person: Person, region: np.ndarray) -> float:
    """Share of region (h, w) bool that the person's mask covers."""
    covered = np.count_nonzero((person.mask > PERSON) & region)
    return covered / max(np.count_nonzero(region), 1)
