"""Reference photo loading and face detection on the scikit-image astronaut."""

import logging

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from tasks.align.face import (
    FaceBox,
    detect_face,
    load_reference,
    main_person,
    validate_reference,
)
from tasks.base import InputError

# face_recognition's HOG box of the astronaut's face (brows to chin), (top, right, bottom, left)
ASTRONAUT_FACE = (83, 266, 170, 179)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def _save(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return path


def test_astronaut_face_is_found(astronaut, tmp_path):
    box = validate_reference(_save(tmp_path / "a.png", astronaut))
    np.testing.assert_allclose(box, ASTRONAUT_FACE, atol=4)
    assert box.height == box.bottom - box.top


def test_large_photo_is_detected_on_a_downscaled_copy(astronaut):
    big = cv2.resize(astronaut, (1600, 1600), interpolation=cv2.INTER_CUBIC)
    box, expected = detect_face(big), FaceBox(*(round(v * 1600 / 512) for v in ASTRONAUT_FACE))
    # On the 800 px copy the mission patch is also detected, larger than the face but with a
    # weak score (< 0.15 vs 1.7), so it must not win. HOG boxes come in pyramid-level sizes:
    # the centre is stable, the size within ~10 %.
    centre = np.array([box.top + box.bottom, box.left + box.right]) / 2
    target = np.array([expected.top + expected.bottom, expected.left + expected.right]) / 2
    np.testing.assert_allclose(centre, target, atol=20)
    assert 0.85 < box.height / expected.height < 1.15


@pytest.fixture(scope="module")
def two_people(astronaut) -> np.ndarray:
    """The astronaut's head at 1.5x on the left and at 1x on the right of a grey canvas."""
    crop = astronaut[40:260, 120:320]  # the face is ~87 px tall in this crop
    canvas = np.full((480, 720, 3), 200, np.uint8)
    canvas[10:340, 10:310] = cv2.resize(crop, (300, 330), interpolation=cv2.INTER_CUBIC)
    canvas[60:280, 400:600] = crop
    return canvas


def test_largest_of_two_faces_wins_with_one_warning_naming_the_choice(two_people, caplog):
    with caplog.at_level(logging.WARNING):
        box = detect_face(two_people, "two.png")
    assert box.right < 310 and box.height > 110  # the 1.5x copy on the left
    (record,) = caplog.records
    assert record.getMessage().startswith("2 people in two.png: animating the largest, most ")
    assert "#1 from the left" in record.getMessage() and "align.person=N" in record.getMessage()


def test_person_index_picks_another_face_from_the_left(two_people, caplog):
    with caplog.at_level(logging.WARNING):
        right = detect_face(two_people, person=2)
    assert right.left > 400 and not caplog.records  # a chosen person needs no warning
    assert detect_face(two_people, person=1).right < 310
    with pytest.raises(InputError, match=r"align.person=3 but .* shows 2 face\(s\): pick 1..2"):
        detect_face(two_people, person=3)


def test_a_central_face_beats_a_slightly_larger_one_at_the_edge():
    edge, centre = FaceBox(0, 110, 100, 0), FaceBox(0, 545, 95, 455)
    assert main_person([edge, centre], width=1000) == 1
    assert main_person([FaceBox(0, 300, 300, 0), centre], width=1000) == 0  # far larger wins


def test_no_face_is_an_input_error():
    gradient = np.tile(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], (256, 1, 3))
    with pytest.raises(InputError, match="no face found in the image: use a photo"):
        detect_face(gradient)


def test_missing_tiny_huge_and_non_images_are_refused(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="not found"):
        load_reference(tmp_path / "nowhere.png")
    with pytest.raises(InputError, match="too small .40x40 px.: use a photo at least 64"):
        load_reference(_save(tmp_path / "tiny.png", np.zeros((40, 40, 3), np.uint8)))
    with pytest.raises(InputError, match="too large .8200x64 px.: resize"):
        load_reference(_save(tmp_path / "wide.png", np.zeros((64, 8200), np.uint8)))
    (tmp_path / "notes.txt").write_text("not a photo\n" * 20)
    with pytest.raises(InputError, match="not a readable image"):
        load_reference(tmp_path / "notes.txt")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 100x100 > 2 * 1000: a "bomb"
    with pytest.raises(InputError, match="too large to decode safely"):
        load_reference(_save(tmp_path / "bomb.png", np.zeros((100, 100, 3), np.uint8)))


def test_exif_orientation_alpha_and_grey_become_upright_rgb(tmp_path):
    wide = np.zeros((80, 120, 3), np.uint8)
    wide[:, :10] = 255  # a white stripe on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    upright = load_reference(_save(tmp_path / "rot.jpg", wide, exif=exif, quality=95))
    assert upright.shape == (120, 80, 3)
    assert upright[:10].mean() > 200 and upright[-10:].mean() < 50  # stripe now on top

    rgba = np.zeros((70, 90, 4), np.uint8)
    rgba[:, :45, 3] = 255  # left half opaque black, right half transparent
    image = load_reference(_save(tmp_path / "rgba.png", rgba))
    assert image.shape == (70, 90, 3) and image.dtype == np.uint8
    assert image[:, :45].max() == 0 and image[:, 45:].min() == 255  # composited on white

    grey = load_reference(_save(tmp_path / "grey.png", np.full((64, 64), 99, np.uint8)))
    assert grey.shape == (64, 64, 3) and (grey == 99).all()


def test_facebox_area():
    assert FaceBox(10, 30, 20, 0).area == 300
