"""Person segmentation of any image, for the body metrics: MediaPipe Pose's mask and landmarks.

MediaPipe Pose 0.10.21 (`solutions` API, model bundled in the wheel, nothing downloaded) finds one
person and returns a soft mask and 33 landmarks. The metrics read the animator's output only
through this, never through an animator's own matte, so every animator is judged alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import numpy as np


@dataclass(frozen=True)
class Person:
    """mask (h, w) float32 in [0, 1]; landmarks (33, 3) [x px, y px, visibility] or None."""

    mask: np.ndarray
    landmarks: np.ndarray | None


class PersonSegmenter:
    """MediaPipe Pose with segmentation; `video=True` tracks the person between calls (frames
    in order) instead of detecting it afresh, about twice as fast. Use as a context manager."""

    def __init__(self, video: bool = False) -> None:
        from mediapipe.python.solutions.pose import Pose

        # No temporal smoothing of the mask: a defect must not be averaged away between frames.
        self._pose = Pose(
            static_image_mode=not video,
            model_complexity=1,
            enable_segmentation=True,
            smooth_segmentation=False,
        )

    def __enter__(self) -> PersonSegmenter:
        return self

    def __exit__(
        self, kind: type | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._pose.close()

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
