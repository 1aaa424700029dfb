"""Fixtures of the cutout tests: the astronaut photo and the stick-figure driving video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from tests.tasks.animate.cutout.driving import FRAMES, SIZE, part_map, pose


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    return cv2.resize(astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def driving() -> tuple[np.ndarray, np.ndarray]:
    """Parts (FRAMES, SIZE, SIZE) uint8 and joints2d (FRAMES, 24, 2) float32."""
    joints = np.stack([pose(t) for t in range(FRAMES)]).astype(np.float32)
    parts = np.stack([part_map(j) for j in joints])
    return parts, joints
