import cv2
import numpy as np

from tasks.animate.cutout.background import clean_plate, plate_hole
from tasks.animate.cutout.shadow import cast_shadow
from tests.tasks.animate.cutout import figure

WALL = np.array([190, 175, 210], np.float32)  # a lilac wall


def _shadowed_photo() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A person on a flat wall with a soft shadow offset down and right; (photo, person alpha,
    shadow-only pixels)."""
    alpha = figure.figure_alpha()
    shadow = cv2.GaussianBlur(np.roll(alpha, (10, 24), axis=(0, 1)), (0, 0), 4.0)
    rng = np.random.default_rng(0)
    wall = WALL * (1 - 0.4 * shadow[..., None]) + rng.normal(0, 1.5, (*alpha.shape, 3))
    photo = figure.composite(np.clip(wall, 0, 255), alpha, figure.PERSON_RGB)
    shadow_only = (shadow > 0.3) & (alpha < 0.01)
    return photo, alpha, shadow_only


def test_the_cast_shadow_is_filled_with_lit_wall():
    photo, alpha, shadow_only = _shadowed_photo()
    wall_luma = WALL.mean()
    assert photo[shadow_only].mean() < 0.85 * wall_luma  # the photo has a visible shadow
    plate = clean_plate(photo, alpha, grow=4).astype(np.float32)
    assert abs(plate[shadow_only].mean() / wall_luma - 1) < 0.03
    assert np.percentile(plate[shadow_only].mean(axis=1), 5) > 0.9 * wall_luma  # hardly a dark spot
    assert not (plate[..., 0] > 215).any()  # and no person colour


def test_the_shadows_soft_edge_goes_with_it():
    """The edge of a soft shadow is only a little darker than the wall; left there, it draws a
    dark outline around the filled shadow (multi1's wall showed her head's and arm's)."""
    photo, alpha, _ = _shadowed_photo()
    shadow = cv2.GaussianBlur(np.roll(alpha, (10, 24), axis=(0, 1)), (0, 0), 4.0)
    hole = plate_hole(alpha, 4)
    soft_edge = (shadow > 0.1) & (shadow < 0.3) & ~hole  # 4-12 % darker
    assert cast_shadow(photo, hole)[soft_edge].mean() > 0.75
    plate = clean_plate(photo, alpha, grow=4).astype(np.float32)
    assert plate[soft_edge].mean() > 0.97 * WALL.mean()


def test_a_textured_background_has_no_shadow():
    photo = figure.composite(figure.background(), figure.figure_alpha(), figure.PERSON_RGB)
    assert not cast_shadow(photo, plate_hole(figure.figure_alpha(), 4)).any()


def test_flat_cloth_beside_the_wall_does_not_hide_the_shadow():
    """Another person's jeans stand beside: flat, dark and blue, they are no measure of the
    wall's colour, so the shadow (the wall a little darker, of its colour) is still found."""
    photo, alpha, shadow_only = _shadowed_photo()
    hole = plate_hole(alpha, 4)
    free = ~cv2.dilate((hole | shadow_only).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    jeans = photo.copy()
    jeans[:, 200:][free[:, 200:]] = (60, 90, 150)
    beside = shadow_only.copy()
    beside[:, :150] = False  # the shadow within reach of the jeans
    alone = np.count_nonzero(cast_shadow(photo, hole) & beside)
    assert np.count_nonzero(cast_shadow(jeans, hole) & beside) > 0.6 * alone > 0
