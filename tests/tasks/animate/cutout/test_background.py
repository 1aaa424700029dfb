import cv2
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from tasks.align.canvas import place_photo, placement
from tasks.align.face import FaceBox
from tasks.animate.cutout import patchfill, reference
from tasks.animate.cutout.animator import DOMAIN
from tasks.animate.cutout.background import (
    arm_shadow,
    body_underlay,
    clean_plate,
    mirror_outside,
)
from tasks.animate.cutout.bandfill import outer_band
from tasks.animate.cutout.bones import nearest_body_bone
from tasks.animate.cutout.patchfill import match_light, patch_fill
from tests.tasks.animate.cutout import figure

PERSON_RED = 110  # red above this: at least ~30 % of the person's orange (background < 80)


@pytest.fixture()
def photo_and_body(monkeypatch):
    """The figure photo and the body read from it, with a pose model that misses the forearms
    and hands in its segmentation (as MediaPipe does) but sees their landmarks."""
    photo = figure.composite(figure.background(), figure.figure_alpha(), figure.PERSON_RGB)
    segmentation = figure.figure_alpha(with_forearms=False)
    monkeypatch.setattr(
        reference, "mediapipe_pose", lambda image, window: (segmentation, figure.landmarks())
    )
    parts = np.zeros(photo.shape[:2], np.uint8)
    body = reference.read_reference(photo, figure.face(), parts, np.zeros((24, 2)))
    return photo, body, segmentation


def test_no_pixel_of_the_person_survives_outside_the_cutout(photo_and_body):
    photo, body, segmentation = photo_and_body
    person = photo[..., 0] > PERSON_RED
    assert (body.mask[person] > DOMAIN).all()  # the cut-out carries every person pixel
    plate = clean_plate(photo, body.mask, grow=8)
    assert not (plate[..., 0] > PERSON_RED).any()  # and the plate keeps none of them
    # the segmentation alone would leave both hands behind in the background
    assert (clean_plate(photo, segmentation, grow=8)[..., 0] > PERSON_RED).sum() > 100


def test_plate_leaves_the_background_away_from_the_person_untouched(photo_and_body):
    photo, body, _ = photo_and_body
    plate = clean_plate(photo, body.mask, grow=8)
    assert np.array_equal(plate[:, 300:], photo[:, 300:])
    assert np.array_equal(plate[:20], photo[:20])


def test_what_the_plate_keeps_stays_as_photographed(photo_and_body):
    """A seated photo's legs stay in the plate: kept pixels are the photo's, the rest of the
    person is filled away."""
    photo, body, _ = photo_and_body
    keep = np.zeros(photo.shape[:2], bool)
    keep[photo.shape[0] // 2 :] = body.mask[photo.shape[0] // 2 :] > 0.5  # the lower body
    plate = clean_plate(photo, body.mask, grow=8, keep=keep)
    assert np.array_equal(plate[keep], photo[keep])
    person = (photo[..., 0] > PERSON_RED) & ~keep
    assert (plate[person][:, 0] <= PERSON_RED).mean() > 0.95


def _gradient_energy(image: np.ndarray, where: np.ndarray) -> float:
    gray = image.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(gray)
    return float(np.mean((gx**2 + gy**2)[where]))


def _local_contrast(image: np.ndarray) -> float:
    """Mean standard deviation of the 7x7 grey patches: a smear or flat fill has little."""
    patches = sliding_window_view(image.astype(np.float32).mean(axis=2), (7, 7))
    return float(patches.std(axis=(2, 3)).mean())


def test_fill_has_the_texture_of_its_surroundings_not_a_blur():
    image = figure.background(seed=1)
    hole = np.zeros(image.shape[:2], bool)
    hole[80:176, 140:240] = True
    blanked = np.where(hole[..., None], 255, image).astype(np.uint8)
    filled = patch_fill(blanked, hole)
    ring = np.zeros_like(hole)
    ring[60:196, 120:260] = True
    ring &= ~hole
    surroundings = _gradient_energy(image, ring)
    assert 0.6 < _gradient_energy(filled, hole) / surroundings < 1.4
    # the measure sees a diffusion fill (the old plate) as the smear it is
    diffused = cv2.inpaint(blanked, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    assert _gradient_energy(diffused, hole) / surroundings < 0.3
    inner = (slice(84, 172), slice(144, 236))
    assert _local_contrast(filled[inner]) > 0.7 * _local_contrast(image[inner])
    assert np.abs(filled[hole].mean(axis=0) - image[ring].mean(axis=0)).max() < 8
    assert np.array_equal(filled[~hole], image[~hole])


@pytest.mark.parametrize("texture_weight", [patchfill.TEXTURE_WEIGHT, 0.0])
def test_a_hole_across_sky_and_rocks_gets_rock_texture_below_the_horizon(
    monkeypatch, texture_weight
):
    """A smooth sky over grainy rocks of the same mean colour: a blurred coarse fill matches
    the sky best, so colour alone smears sky into the rocks; the texture features do not."""
    rng = np.random.default_rng(0)
    image = np.full((192, 192, 3), 128.0)
    image[96:] += rng.normal(0, 30, (96, 192, 1))  # grey grain
    image = np.clip(image, 0, 255).astype(np.uint8)
    hole = np.zeros(image.shape[:2], bool)
    hole[40:176, 64:128] = True
    monkeypatch.setattr(patchfill, "TEXTURE_WEIGHT", texture_weight)
    filled = patch_fill(image, hole)
    rocks = hole.copy()
    rocks[:112] = False  # well below the horizon
    ratio = _local_contrast(filled[112:176, 64:128]) / _local_contrast(image[112:176, :64])
    sky = _local_contrast(filled[40:80, 64:128])
    if texture_weight:
        assert ratio > 0.7 and sky < 5
    else:  # what the features fix
        assert ratio < 0.7


def test_light_matching_takes_a_walls_shading_but_not_a_neighbouring_objects_colour():
    wall = np.tile(np.linspace(90, 210, 128)[None, :, None], (128, 1, 3))  # lit from the right
    hole = np.zeros((128, 128), bool)
    hole[32:96, 32:96] = True
    flat = wall.copy()
    flat[hole] = 150  # patches copied from the middle of the wall
    lit = match_light(flat.astype(np.uint8), wall.astype(np.uint8), hole).astype(float)
    ghost = np.abs(flat[hole] - wall[hole]).mean()
    assert np.abs(lit[hole] - wall[hole]).mean() < 0.5 * ghost  # the wall's shading
    flag = np.full((128, 128, 3), 180.0)
    flag[:, :34] = (200, 30, 40)  # a red flag beside the hole
    grey = np.where(hole[..., None], 180.0, flag).astype(np.uint8)
    lit = match_light(grey, flag.astype(np.uint8), hole).astype(float)
    hue = lit - lit.mean(axis=-1, keepdims=True)
    edge = 32 + patchfill.SEAM_BAND  # past the seam band only the slow match moves the hue
    inner = lit[edge : 96 - patchfill.SEAM_BAND, edge : 96 - patchfill.SEAM_BAND]
    assert np.linalg.norm(hue[hole], axis=-1).max() <= 2 * patchfill.TINT_LIMIT + 2  # no red
    inner_hue = hue[edge : 96 - patchfill.SEAM_BAND, edge : 96 - patchfill.SEAM_BAND]
    assert np.linalg.norm(inner_hue, axis=-1).max() <= patchfill.TINT_LIMIT + 2
    assert np.abs(inner.mean(axis=-1) - 180).max() <= patchfill.LIGHT_LIMIT + 2


def test_a_fill_that_continues_its_surroundings_keeps_its_own_light():
    """A backdrop of soft clouds: the right fill continues them, and matching the light must not
    flatten them to what the hole's edge interpolates (a smooth silhouette of the person)."""
    rng = np.random.default_rng(0)
    clouds = cv2.GaussianBlur(rng.normal(0, 1, (192, 192)).astype(np.float32), (0, 0), 10)
    backdrop = np.clip(150 + 40 * clouds / clouds.std(), 0, 255)
    backdrop = np.repeat(backdrop[..., None], 3, axis=-1).astype(np.uint8)
    hole = np.zeros((192, 192), bool)
    cv2.circle(hole.view(np.uint8), (96, 96), 56, 1, -1)
    lit = match_light(backdrop, backdrop, hole).astype(float)
    clouds_inside = np.abs(backdrop[hole] - backdrop[hole].mean()).mean()
    # one-sided means across a cloud's slope read a small step even here (0.18); the
    # surroundings' light interpolated over the hole moved it by 0.7 of the clouds' contrast
    assert np.abs(lit[hole] - backdrop[hole]).mean() < 0.25 * clouds_inside


def test_light_across_a_hole_between_a_dark_and_a_lit_wall_ramps_with_no_step():
    """The person stood between a shadowed wall and a lit one: the plate's light ramps across
    where they stood; a marching fill's fronts meet in the middle, a step that draws their
    outline."""
    image = np.full((96, 128, 3), 200, np.uint8)
    image[:, :40] = 100
    hole = np.zeros((96, 128), bool)
    hole[:, 40:88] = True
    flat = np.where(hole[..., None], 150, image).astype(np.uint8)
    across = match_light(flat, image, hole)[:, 44:85:4].mean(axis=(0, 2))
    steps = np.diff(across)
    # a ramp of 100 over 48 px is 8.3 per 4 px, steeper by half at most where the seam band
    # meets the wall; the fronts' step in the middle was 25 and more
    assert (steps > 0).all() and steps.max() < 13


def test_a_photo_extended_by_its_mirror_loses_the_mirrored_person_too(photo_and_body):
    photo, body, _ = photo_and_body
    where = placement(photo.shape[:2], (256, 512), FaceBox(*figure.face()))
    canvas = place_photo(photo, where, (256, 512))  # the face centred: a mirror on the left
    assert where.box == (0, 512, 256, 128) and (canvas[:, :128, 0] > PERSON_RED).any()
    mask = np.zeros(canvas.shape[:2], np.float32)
    mask[:, 128:] = body.mask
    plate = clean_plate(canvas, mirror_outside(mask, where.box), grow=8)
    assert not (plate[..., 0] > PERSON_RED).any()
    assert mirror_outside(body.mask, (0, 384, 256, 0)) is body.mask  # nothing to extend


def test_an_arms_shadow_on_the_jeans_is_lit_but_a_black_belt_is_not():
    """A forearm hangs over the jeans near their right side and shades a strip beside it; a black
    belt runs under it. The shadow is found (the same cloth, darker) and lit to the jeans' level
    with its grain; the belt is not (another cloth); what the forearm hid is copied from the lit
    jeans, not from the shadow."""
    labels = np.full((300, 140), -1, dtype=np.int8)
    labels[:, 10:120] = 0  # the body
    labels[:, 90:110] = 3  # a forearm over its right side
    rng = np.random.default_rng(0)
    image = np.full((300, 140, 3), 230, dtype=np.uint8)  # the wall
    image[:, 10:120] = (70, 100, 160)  # jeans
    image[:, 10:120] += rng.integers(0, 6, (300, 110, 1), dtype=np.uint8)  # their grain
    image[:, 90:110] = (150, 100, 70)  # the forearm
    image[100:250, 84:90] = (image[100:250, 84:90] * 0.7).astype(np.uint8)  # its shadow
    image[60:70, 10:90] = (20, 20, 20)  # a black belt
    shade, lit = arm_shadow(image, labels, (0,), (3,))
    assert shade[100:250, 84:90].all()
    assert not shade[60:70].any() and not shade[:, :80].any()
    strip = lit[110:240, 85:89].astype(float)
    assert np.abs(strip.mean(axis=(0, 1)) - (72, 102, 162)).max() < 6  # the jeans' level
    assert strip[..., 2].std() > 0.6 * image[110:240, 20:60, 2].std()  # and their grain
    assert np.array_equal(lit[60:70], image[60:70]) and np.array_equal(lit[:, 90:], image[:, 90:])
    fill, underlay = body_underlay(image, labels, (0,), (3,), shade=shade)
    hidden = fill[100:250]
    assert hidden.any() and np.abs(underlay[100:250][hidden].astype(int) - (72, 102, 162)).max() < 8


def test_body_underlay_fills_the_arm_across_the_torso_with_torso():
    labels = np.full((64, 64), -1, dtype=np.int8)
    labels[10:60, 16:48] = 0  # torso
    labels[30:38, 4:60] = 2  # an arm lying across it
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[labels == 0] = (200, 100, 50)
    image[labels == 2] = (0, 0, 255)
    fill, underlay = body_underlay(image, labels, (0,), (2, 5))
    assert fill[34, 30] and not fill[34, 6]  # inside the torso's outline only
    assert np.abs(underlay[34, 30].astype(int) - (200, 100, 50)).max() < 30
    assert np.array_equal(underlay[34, 6], image[34, 6])


def test_body_underlay_continues_torso_and_jeans_never_the_wall():
    """An arm hanging down the body's left edge onto the jeans (as a pose model's guessed
    forearm does) uncovers torso and jeans, filled from them; an arm beside the body, over the
    wall, uncovers wall and is left alone."""
    wall, top, jeans, skin = (235, 235, 235), (200, 100, 50), (60, 90, 170), (90, 50, 30)
    labels = np.full((80, 80), -1, dtype=np.int8)
    labels[10:45, 16:48] = 0  # torso
    labels[45:76, 16:31] = 8  # legs
    labels[45:76, 33:48] = 11
    labels[12:70, 17:24] = 3  # the arm lying along the torso's edge and onto the jeans
    labels[12:40, 52:58] = 6  # an arm hanging beside the torso
    image = np.full((80, 80, 3), wall, dtype=np.uint8)
    image[labels == 0] = top
    image[np.isin(labels, (8, 11))] = jeans
    image[np.isin(labels, (3, 6))] = skin
    fill, underlay = body_underlay(image, labels, (0, 8, 11), (3, 6))
    assert fill[labels == 3].all() and not fill[labels == 6].any()
    colour = underlay.astype(int)
    assert (colour[fill].min(axis=1) < 180).all()  # no wall-coloured pixel
    assert np.abs(colour[25, 17:24] - top).max() < 40
    assert np.abs(colour[60, 17:24] - jeans).max() < 40


def test_an_arm_over_the_bodys_edge_uncovers_as_much_body_as_the_other_side_shows():
    """The arm hangs over the body's right edge, hiding where the body ends: the underlay
    takes the width the other side of the spine shows, and each row continues its own band
    (top, bare waist, belt, jeans), not whichever garment is largest."""
    wall, top, skin, belt, jeans = (
        (235,) * 3,
        (250, 250, 250),
        (120, 70, 40),
        (20,) * 3,
        (60, 90, 170),
    )
    bands = ((10, 30, top), (30, 38, skin), (38, 42, belt), (42, 76, jeans))
    labels = np.full((80, 80), -1, dtype=np.int8)
    labels[10:76, 20:60] = 0  # a body 40 px wide about the spine x = 40
    image = np.full((80, 80, 3), wall, dtype=np.uint8)
    for start, stop, colour in bands:
        image[start:stop, 20:60] = colour
    labels[10:76, 50:66] = 3  # the arm over the right edge, past it onto the wall, all along
    image[labels == 3] = (90, 50, 30)
    spine = (np.array([40.0, 5.0]), np.array([40.0, 45.0]))
    without, _ = body_underlay(image, labels, (0,), (3,))
    fill, underlay = body_underlay(image, labels, (0,), (3,), spine=spine)
    assert not without[20, 55] and fill[20, 50:60].all() and not fill[20, 61:].any()
    carried = labels.copy()
    carried[20:24, 0:20] = 0  # the body carries an arm out to the frame's left edge there
    wide, _ = body_underlay(image, carried, (0,), (3,), spine=spine)
    assert not wide[22, 61:].any()  # no measure of the body's width: no flap on the right
    for start, stop, colour in bands:
        rows = slice(start + 1, min(stop, 70) - 1)
        assert np.abs(underlay[rows, 50:60].astype(int) - colour).max() < 30, colour


def test_hands_on_the_hips_uncover_the_waist_no_wider_than_above_and_below_it():
    """Both hands rest on the hips, hiding the waist's edges, and a finger below one of them is
    labelled as body: the waist they uncover runs straight from the body's edge above the hands
    to its edge below them, with no flap out to the finger or the hands' width."""
    labels = np.full((100, 100), -1, dtype=np.int8)
    labels[10:95, 35:65] = 0  # the body, 30 px wide
    labels[40:52, 20:38] = 3  # left hand over the left edge
    labels[40:52, 62:80] = 6  # right hand over the right edge
    labels[52:55, 25:35] = 0  # a finger below the left hand, labelled as body
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    image[labels == 0] = (60, 90, 170)
    image[np.isin(labels, (3, 6))] = (120, 70, 40)
    fill, _ = body_underlay(image, labels, (0,), (3, 6))
    assert fill[40:52, 35:38].all() and fill[40:52, 62:65].all()
    assert not fill[:, :34].any() and not fill[:, 66:].any()


def test_a_hand_over_the_thighs_edge_uncovers_the_thigh_as_wide_as_below_it():
    """An arm hangs down the body's right side and its hand lies over the thigh's edge: the
    edge stays hidden from the armpit to the fingertips, too long to run straight across, but
    the thigh the hand uncovers is as wide as the thigh just below the hand."""
    labels = np.full((100, 100), -1, dtype=np.int8)
    labels[10:50, 30:60] = 0  # torso
    labels[50:95, 30:60] = 8  # the thigh below it
    labels[12:76, 58:70] = 3  # the arm down the right side, its hand over the thigh's edge
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    image[labels == 0], image[labels == 8] = (250, 250, 250), (60, 90, 170)
    image[labels == 3] = (120, 70, 40)
    fill, underlay = body_underlay(image, labels, (0, 8), (3,))
    assert fill[52:76, 58:60].all() and not fill[:, 61:].any()
    assert np.abs(underlay[55:70, 58:60].astype(int) - (60, 90, 170)).max() < 30


def test_the_uncovered_bodys_side_slopes_where_its_width_steps():
    """The body narrows from chest to waist under an arm hiding its right edge: the side the
    arm uncovers slopes from one width to the other instead of cutting a step (a block of
    each row's garment pushed out sideways)."""
    labels = np.full((100, 100), -1, dtype=np.int8)
    labels[10:40, 20:61] = 0  # chest, 40 px wide about the spine x = 40
    labels[40:90, 28:53] = 0  # waist, 24 px wide
    labels[15:85, 48:75] = 3  # the arm over the right edge
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    image[labels == 0], image[labels == 3] = (60, 90, 170), (120, 70, 40)
    spine = (np.array([40.0, 10.0]), np.array([40.0, 90.0]))
    fill, _ = body_underlay(image, labels, (0,), (3,), spine=spine)
    rows = np.nonzero(fill.any(axis=1))[0]
    right = np.array([np.nonzero(fill[row])[0].max() for row in rows])
    assert right.max() - right.min() >= 6  # the side does narrow
    assert np.abs(np.diff(right)).max() <= 3


def test_an_empty_matte_leaves_the_photo_as_its_plate():
    photo = figure.background(seed=2)
    plate = clean_plate(photo, np.zeros(photo.shape[:2], np.float32), grow=4)
    assert np.array_equal(plate, photo)


def test_patch_fill_takes_images_of_any_size():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (101, 77, 3)).astype(np.uint8)
    hole = np.zeros((101, 77), bool)
    hole[30:60, 20:50] = True
    filled = patch_fill(image, hole)
    assert filled.shape == image.shape and np.array_equal(filled[~hole], image[~hole])


def test_a_hand_on_a_far_knee_uncovers_the_thigh_the_leg_carries():
    """A hand resting on a knee far from the torso uncovers thigh: the underlay continues the
    thigh's cloth there, and the leg, the body bone nearest it, carries it (the torso's sway
    would swing it about as a loose shard)."""
    labels = np.full((80, 80), -1, dtype=np.int8)
    labels[10:45, 30:50] = 0  # torso
    labels[45:60, 5:75] = 8  # a folded thigh, across the frame
    labels[25:40, 32:38] = 3  # a forearm on the torso
    labels[48:56, 8:16] = 4  # a hand on the far knee
    image = np.full((80, 80, 3), 128, dtype=np.uint8)
    image[labels == 8] = (60, 90, 170)
    image[labels == 4] = (90, 50, 30)
    fill, underlay = body_underlay(image, labels, (0, 8), (3, 4))
    assert fill[labels == 3].all() and fill[labels == 4].all()
    assert np.abs(underlay[50:54, 10:14].astype(int) - (60, 90, 170)).max() < 30
    joints = np.zeros((24, 2))
    joints[[12, 1, 2, 16, 17]] = [[40, 10], [36, 44], [44, 44], [32, 12], [48, 12]]
    joints[[4, 5]] = [[10, 52], [70, 52]]  # knees: the thigh folded across
    joints[[7, 8, 10, 11]] = [[10, 70], [70, 70], [6, 76], [74, 76]]  # shins and feet down
    ys, xs = np.nonzero(labels == 4)
    assert np.isin(nearest_body_bone(np.stack([xs, ys], axis=1), joints), (8, 9)).all()


def _flag_beside_a_wall() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, hole, stripes): diagonal red and white stripes (a flag) on the left third of a
    grainy wall, and a hole over their edge, most of its edge on the wall; stripes (h, w) bool
    is where the stripes, carried on, would be red."""
    rng = np.random.default_rng(0)
    rows, cols = np.indices((192, 192))
    stripes = (rows + cols) // 12 % 2 == 0
    image = np.full((192, 192, 3), 200.0) + rng.normal(0, 6, (192, 192, 1))
    flag = cols < 64
    image[flag & stripes] = (190, 30, 40)
    image[flag & ~stripes] = (235, 235, 230)
    hole = np.zeros((192, 192), bool)
    hole[40:150, 52:140] = True
    return np.clip(image, 0, 255).astype(np.uint8), hole, stripes


@pytest.mark.parametrize("with_band", [True, False])
def test_a_flag_meeting_the_hole_runs_on_into_it(with_band):
    """The flag's stripes continue across the hole's edge: in the plate, the band along the flag
    is filled in priority order and carries them on; the coarse-to-fine vote alone lays the
    mostly-wall surroundings over them and cuts the flag with a band of wall."""
    image, hole, stripes = _flag_beside_a_wall()
    if with_band:
        filled = clean_plate(image, hole.astype(np.float32), grow=0).astype(np.float32)
    else:
        filled = patch_fill(image, hole).astype(np.float32)
    beside = np.zeros_like(hole)
    beside[48:142, 56:60] = True  # 4-8 px in: within the band (7.7 px), on the flag's side
    red = filled[..., 0] - filled[..., 1] > 80
    white = filled.min(axis=-1) > 215
    carried = np.mean(np.where(stripes, red, white)[beside])
    if with_band:
        assert carried > 0.8
    else:  # what the band fixes
        assert carried < 0.6
    assert np.array_equal(filled[~hole], image[~hole])


def test_a_smooth_wall_is_left_to_the_vote():
    """No line crosses a shaded wall's edge with the hole: nothing is copied patch by patch
    (each patch's light would show as a step)."""
    rows, cols = np.indices((128, 128))
    image = np.stack([150 + 0.4 * cols + 0.2 * rows] * 3, axis=-1).astype(np.uint8)
    hole = np.zeros((128, 128), bool)
    hole[30:100, 40:90] = True
    _, band = outer_band(image, hole)
    assert not band.any()
    image_with_flag, flag_hole, _ = _flag_beside_a_wall()
    _, band = outer_band(image_with_flag, flag_hole)
    assert band[40:150, 52:60].mean() > 0.9  # along the flag
    assert not band[:, 80:].any()  # along the wall
