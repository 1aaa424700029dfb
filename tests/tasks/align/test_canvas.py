"""The output canvas: its size from the driving aspect, the photo placed on it unsquashed."""

import numpy as np

from tasks.align.canvas import canvas_size, place_photo, placement
from tasks.align.face import FaceBox


def _photo(height: int, width: int) -> np.ndarray:
    """A photo whose pixels name their own (row, column), so placement can be read back."""
    rows, cols = np.indices((height, width))
    return np.stack([rows % 256, cols % 256, (rows + cols) % 7], axis=-1).astype(np.uint8)


def test_canvas_takes_the_driving_aspect_in_multiples_of_8():
    assert canvas_size(512, (512, 512)) == (512, 512)
    assert canvas_size(512, (512, 288)) == (512, 288)  # portrait 9:16
    assert canvas_size(100, (54, 96)) == (56, 104)


def test_square_photo_on_a_portrait_canvas_is_cropped_around_the_face_not_squashed():
    face = FaceBox(top=40, right=190, bottom=80, left=150)  # right of centre in a 256 px photo
    where = placement((256, 256), (512, 288), face)
    assert where.scale == 2.0 and where.box == (0, 288, 512, 0)  # fills the whole canvas
    moved = where.face(face)
    assert moved.height == 2 * face.height and moved.right - moved.left == 2 * 40  # same shape
    assert abs((moved.left + moved.right) / 2 - 144) <= 1  # the face is central
    canvas = place_photo(_photo(256, 256), where, (512, 288))
    assert canvas.shape == (512, 288, 3)
    assert canvas[-1, 0, 0] == 255 and canvas[0, 0, 0] == 0  # photo's top and bottom rows


def test_narrow_photo_on_a_square_canvas_keeps_its_bottom_and_mirrors_into_the_sides():
    face = FaceBox(top=30, right=70, bottom=70, left=30)  # at the photo's centre
    where = placement((200, 100), (400, 400), face)
    top, right, bottom, left = where.box
    assert (top, bottom) == (0, 400) and right - left == 200 and left == 100  # centred
    canvas = place_photo(_photo(200, 100), where, (400, 400))
    assert np.array_equal(canvas[:, :left], canvas[:, left : 2 * left][:, ::-1])  # mirrored
    assert np.array_equal(canvas[:, right:], canvas[:, 2 * right - 400 : right][:, ::-1])
    assert canvas[-1, 200, 0] == 199  # the photo's last row is the frame's last row
