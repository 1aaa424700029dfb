"""Head finding, the single similarity fit and the nearest-neighbour warp, on synthetic blobs."""

import cv2
import numpy as np
import pytest

from tasks.align.face import FaceBox
from tasks.align.transform import (
    BACKGROUND_RGB,
    fit_transform,
    head_boxes,
    reference_head,
    transform_points,
    warp_frames,
)

FACE = FaceBox(top=100, right=230, bottom=180, left=150)  # 80 px tall face, centre x 190


def _dancer(num: int, size=(200, 160), head=(30, 80), radius=(12, 16), sway=0) -> np.ndarray:
    """(num, H, W) part maps: an elliptic head (23 left half, 24 right half) over a torso (2)."""
    parts = np.zeros((num, *size), np.uint8)
    for i in range(num):
        cx, cy = head[1] + (sway * (-1) ** i), head[0] + radius[1]
        cv2.rectangle(parts[i], (cx - 20, cy + radius[1]), (cx + 20, cy + 90), 2, -1)
        cv2.ellipse(parts[i], (cx, cy), radius, 0, 0, 360, 23, -1)
        parts[i, :, cx:][parts[i, :, cx:] == 23] = 24
    return parts


def test_head_boxes_are_pixel_edges_and_nan_without_head():
    parts = np.zeros((2, 10, 12), np.uint8)
    parts[0, 2:5, 3:9] = 23
    parts[0, 5:8, 4:6] = 1
    boxes = head_boxes(parts)
    np.testing.assert_array_equal(boxes[0], [2, 9, 5, 3])
    assert np.isnan(boxes[1]).all()


def test_fit_puts_driving_head_on_the_reference_head():
    parts = _dancer(5, sway=6)
    matrix = fit_transform(head_boxes(parts), FACE, head_to_face=1.7)
    assert matrix[0, 1] == matrix[1, 0] == 0 and matrix[0, 0] == matrix[1, 1]
    warped = warp_frames(parts, matrix, (400, 320), border=0)
    centre_x, centre_y, height = reference_head(FACE, 1.7)
    assert height == pytest.approx(136) and centre_y == pytest.approx(180 - 68)  # crown at 44
    # The head sways by 12 px (+6, -6, +6, ...): one transform for all frames, fitted to the
    # median position (+6, frame 0), so the other frames keep their offset instead of jittering.
    first, second = head_boxes(warped[:2])
    assert abs((first[2] - first[0]) - height) <= 3
    assert abs((first[0] + first[2]) / 2 - centre_y) <= 2
    assert abs((first[1] + first[3]) / 2 - centre_x) <= 2
    assert abs((second[1] + second[3]) / 2 - (centre_x - 12 * matrix[0, 0])) <= 2


def test_scale_uses_the_median_head_height():
    parts = _dancer(5)
    parts[0] = _dancer(1, radius=(12, 40))[0]  # one bowing/odd frame with a much taller head
    matrix = fit_transform(head_boxes(parts), FACE, head_to_face=1.7)
    assert matrix[0, 0] == pytest.approx(136 / 33)  # the ellipse is 2 * 16 + 1 px tall


def test_no_head_anywhere_is_an_error():
    with pytest.raises(ValueError, match="no head"):
        fit_transform(head_boxes(np.ones((3, 20, 20), np.uint8)), FACE, head_to_face=1.7)


def test_warp_is_nearest_neighbour_and_points_follow():
    rng = np.random.default_rng(0)
    parts = rng.integers(0, 25, (2, 37, 29), dtype=np.uint8)
    matrix = np.array([[1.37, 0.0, 5.3], [0.0, 1.37, -3.1]])
    warped = warp_frames(parts, matrix, (48, 40), border=0)
    assert warped.shape == (2, 48, 40) and warped.dtype == np.uint8
    assert set(np.unique(warped)) <= set(np.unique(parts)) | {0}
    # A pixel centre maps to the pixel that holds its label.
    src = np.array([[10.5, 20.5]], np.float32)
    x, y = transform_points(src, matrix)[0]
    assert warped[0, int(y), int(x)] == parts[0, 20, 10]
    rgb = rng.integers(0, 255, (1, 37, 29, 3), dtype=np.uint8)
    warped_rgb = warp_frames(rgb, matrix, (80, 80), border=BACKGROUND_RGB)
    assert tuple(warped_rgb[0, -1, -1]) == BACKGROUND_RGB
    colours = {tuple(c) for c in rgb.reshape(-1, 3)} | {BACKGROUND_RGB}
    assert {tuple(c) for c in warped_rgb.reshape(-1, 3)} <= colours
