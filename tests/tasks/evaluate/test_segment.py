"""MediaPipe person segmentation as the body metrics use it, on scikit-image's astronaut."""

import cv2
import numpy as np
from skimage.data import astronaut

from tasks.evaluate.segment import Person, PersonSegmenter

SIZE = 256


def test_finds_the_person_and_nothing_in_a_blank_image():
    photo = cv2.resize(astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    with PersonSegmenter() as segment:
        person, blank = segment(photo), segment(np.full_like(photo, 128))
    assert person.mask[60, 110] > 0.5 and person.mask[20, 240] < 0.5  # face, not the sky
    assert person.landmarks is not None and person.landmarks.shape == (33, 3)
    assert blank.landmarks is None and not blank.mask.any()


def test_near_finds_the_person_around_the_region_of_two():
    one = cv2.resize(astronaut(), (SIZE // 2, SIZE // 2), interpolation=cv2.INTER_AREA)
    pair = np.full((SIZE // 2, SIZE, 3), 200, np.uint8)
    pair[:, : SIZE // 2], pair[:, SIZE // 2 :] = one, one[:, ::-1]
    region = np.zeros(pair.shape[:2], bool)
    with PersonSegmenter() as segment:
        for side in (slice(10, 100), slice(SIZE // 2 + 28, SIZE - 10)):
            region[:] = False
            region[30:, side] = True
            mask = segment.near(pair, region).mask > 0.5
            cols = np.nonzero(mask)[1]
            assert cols.size and side.start - 20 <= np.median(cols) <= side.stop + 20


class _Largest(PersonSegmenter):
    """Finds the largest bright blob of the image it is given, as the pose model finds the most
    salient person of its window."""

    def __init__(self) -> None:
        pass

    def __call__(self, image: np.ndarray) -> Person:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            (image[..., 0] > 128).astype(np.uint8)
        )
        if count < 2:
            return Person(np.zeros(image.shape[:2], np.float32), None)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        return Person((labels == largest).astype(np.float32), None)


def test_near_looks_again_tighter_when_it_found_the_other_person():
    """A big second person stands inside the window around a small dancer and is found first:
    the region is looked at again with less around it, and the dancer is found."""
    image = np.zeros((200, 200, 3), np.uint8)
    image[80:120, 40:60] = 255  # the dancer
    image[30:190, 75:150] = 255  # someone bigger beside
    region = np.zeros((200, 200), bool)
    region[80:120, 40:60] = True
    found = _Largest().near(image, region).mask > 0.5
    assert found[region].all() and not found[:, 75:].any()
