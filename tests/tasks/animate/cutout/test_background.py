import numpy as np

from tasks.animate.cutout.background import clean_plate, torso_underlay


def test_clean_plate_removes_the_person_and_keeps_the_rest():
    image = np.full((64, 64, 3), 90, dtype=np.uint8)
    image[:, 32:] = 200
    mask = np.zeros((64, 64), dtype=np.float32)
    mask[20:44, 24:40] = 1.0
    plate = clean_plate(np.where(mask[..., None] > 0, 0, image).astype(np.uint8), mask, grow=2)
    assert np.array_equal(plate[:10], image[:10])  # far from the person: untouched
    assert plate[32, 26, 0] < 140 < plate[32, 38, 0]  # each side filled from its own side
    assert plate[20:44, 24:40].min() > 60  # the black person is gone


def test_torso_underlay_fills_the_arm_across_the_torso_with_torso():
    labels = np.full((64, 64), -1, dtype=np.int8)
    labels[10:60, 16:48] = 0  # torso
    labels[30:38, 4:60] = 2  # an arm lying across it
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[labels == 0] = (200, 100, 50)
    image[labels == 2] = (0, 0, 255)
    quad = np.array([[48, 10], [16, 10], [16, 60], [48, 60]])
    fill, underlay = torso_underlay(image, labels, quad, (2, 5))
    assert fill[34, 30] and not fill[34, 6]  # inside the torso's hull only
    assert np.abs(underlay[34, 30].astype(int) - (200, 100, 50)).max() < 30
    assert np.array_equal(underlay[34, 6], image[34, 6])
