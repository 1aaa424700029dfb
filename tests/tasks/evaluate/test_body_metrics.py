"""Body metrics on constructed frames with known answers: a stick person in DensePose parts,
coloured per part, on a textured plate; masks are given, so no segmenter runs here."""

import cv2
import numpy as np
import pytest

from flows.evaluate import evaluation_params
from tasks.evaluate.body import (
    ARM_ENDS,
    DrawnBody,
    bone_owners,
    carried,
    check_frame,
    fill_quality,
    fragments,
    framed_parts,
    photo_body,
    register,
    shown_parts,
)
from tasks.evaluate.gates import evaluate_gates

SIZE = 160
SHIFT = 40  # px the dancer stands right of where the photo's person stood
# (start, end, DensePose part, thickness): a full body standing at x = 60
LIMBS = (
    ((50, 52), (44, 80), 15, 9), ((70, 52), (76, 80), 16, 9),  # upper arms
    ((44, 80), (40, 104), 19, 7), ((76, 80), (80, 104), 20, 7),  # lower arms
    ((54, 96), (47, 126), 10, 11), ((66, 96), (73, 126), 9, 11),  # upper legs
    ((47, 126), (44, 154), 14, 9), ((73, 126), (76, 154), 13, 9),  # lower legs
)  # fmt: skip
RIGHT_LEG = (9, 13)


def figure(dx: int = 0, arm_up: bool = False, without: tuple[int, ...] = ()) -> np.ndarray:
    """(SIZE, SIZE) uint8 DensePose parts of the stick person moved right by dx."""
    parts = np.zeros((SIZE, SIZE), np.uint8)
    cv2.rectangle(parts, (50 + dx, 50), (70 + dx, 98), 2, -1)
    cv2.ellipse(parts, (60 + dx, 38), (8, 11), 0, 0, 360, 23, -1)
    for (x0, y0), (x1, y1), part, width in LIMBS:
        if part in without:
            continue
        if arm_up and part in (16, 20):  # the right arm raised sideways
            x0, y0, x1, y1 = (70, 52, 96, 40) if part == 16 else (96, 40, 118, 26)
        cv2.line(parts, (x0 + dx, y0), (x1 + dx, y1), part, width)
    return parts


@pytest.fixture(scope="module")
def scene():
    """(plate, colours per part, photo, PhotoBody, gates) of a photo of the stick person."""
    rng = np.random.default_rng(0)
    noise = rng.integers(60, 200, (SIZE // 2, SIZE // 2), dtype=np.uint8)
    plate = cv2.resize(noise, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    plate = np.repeat(cv2.GaussianBlur(plate, (0, 0), 0.8)[..., None], 3, axis=2)  # grey texture
    colours = np.zeros((25, 3), np.uint8)  # reds and oranges, one per part
    colours[1:] = np.stack([np.full(24, 220), 20 + 5 * np.arange(24), np.full(24, 40)], axis=1)
    parts = figure()
    photo = np.where(parts[..., None] > 0, colours[parts], plate)
    shown = shown_parts(parts > 0, None, parts)
    _, gates = evaluation_params()
    body_gates = {k: v for k, v in gates.items() if k.split("_")[0] in ("coverage", "leftovers",
                  "fragments", "fill")}  # fmt: skip
    return (
        plate,
        colours,
        photo,
        photo_body(photo, (parts > 0).astype(np.float32), shown),
        body_gates,
    )


def dance_frame(scene, parts: np.ndarray) -> np.ndarray:
    plate, colours, _, _, _ = scene
    return np.where(parts[..., None] > 0, colours[parts], plate)


def measure(scene, frame, dancer, parts) -> dict[str, float]:
    check = check_frame(frame, dancer.astype(np.float32), DrawnBody(parts), scene[3])
    return {
        "coverage": check.coverage,
        "leftovers": check.leftovers,
        "fragments": check.fragments,
        "fill_quality": check.fill_quality,
    }


def test_a_clean_cutout_passes_every_body_gate(scene):
    parts = figure(SHIFT, arm_up=True)
    metrics = measure(scene, dance_frame(scene, parts), parts > 0, parts)
    assert metrics["coverage"] == 1.0 and metrics["leftovers"] == 0.0
    assert metrics["fragments"] == 0 and metrics["fill_quality"] > 0.9
    assert evaluate_gates(metrics, scene[4]) == []


def test_a_pasted_floating_hand_is_a_leftover(scene):
    parts = figure(SHIFT, arm_up=True)
    frame = dance_frame(scene, parts)
    photo_arm = np.isin(figure(), (15, 19))  # the photo's left arm, pasted where it was
    frame[photo_arm] = scene[2][photo_arm]
    metrics = measure(scene, frame, parts > 0, parts)
    assert metrics["leftovers"] > scene[4]["leftovers_max"]
    assert "leftovers_max" in evaluate_gates(metrics, scene[4])
    # Seen as person by the segmenter, it is a loose fragment as well, and still a leftover.
    seen = measure(scene, frame, (parts > 0) | photo_arm, parts)
    assert seen["fragments"] == 1 and seen["leftovers"] == metrics["leftovers"]


def test_a_missing_leg_fails_coverage(scene):
    parts = figure(SHIFT)
    drawn = figure(SHIFT, without=RIGHT_LEG)
    metrics = measure(scene, dance_frame(scene, drawn), drawn > 0, parts)
    assert metrics["coverage"] < scene[4]["coverage_min"]
    assert evaluate_gates(metrics, scene[4]) == ["coverage_min"]


def test_a_leg_the_photo_does_not_show_is_not_asked_for(scene):
    waist_up = figure(without=(9, 10, 13, 14))  # the photo's person is cut at the hips
    shown = shown_parts(waist_up > 0, None, figure())
    assert shown[[2, 15, 16, 19, 20, 23]].all() and not shown[[9, 10, 13, 14]].any()


def test_landmarks_decide_which_limbs_the_photo_shows():
    person = np.zeros((100, 100), bool)
    person[10:100, 30:70] = True  # the frame cuts the person at the thighs
    marks = np.zeros((33, 3))
    marks[:, :2] = 50
    marks[[23, 24], :2] = [[45, 80], [55, 80]]  # hips in frame
    marks[[25, 26], :2] = [[45, 110], [55, 110]]  # knees below it: thighs' middles in frame
    marks[[27, 28], :2] = [[45, 140], [55, 140]]
    shown = shown_parts(person, marks, np.zeros((100, 100), np.uint8))
    assert shown[[7, 8, 9, 10]].all() and not shown[[11, 12, 13, 14, 5, 6]].any()


def test_a_blurred_disc_fails_fill_quality_and_a_flat_wall_does_not(scene):
    parts = figure(SHIFT, arm_up=True)
    frame = dance_frame(scene, parts)
    disc = np.zeros((SIZE, SIZE), np.uint8)
    cv2.circle(disc, (60, 95), 55, 1, -1)
    smeared = cv2.GaussianBlur(scene[0], (0, 0), 8)  # the wall, smeared
    disc = (disc > 0) & ~cv2.dilate((parts > 0).astype(np.uint8), np.ones((9, 9))).astype(bool)
    frame[disc] = smeared[disc]
    metrics = measure(scene, frame, parts > 0, parts)
    assert metrics["fill_quality"] < scene[4]["fill_quality_min"]
    assert evaluate_gates(metrics, scene[4]) == ["fill_quality_min"]
    wall = np.full((SIZE, SIZE, 3), 128, np.uint8)
    wall[disc] = 131  # a flat fill, a shade off the flat wall
    person = figure() > 0
    assert fill_quality(wall, person, np.zeros_like(person)) > 0.9


def test_a_seam_around_the_fill_lowers_fill_quality(scene):
    person = figure() > 0
    plate = scene[0].copy()
    clean = fill_quality(plate, person, np.zeros_like(person))
    ring = cv2.dilate(person.astype(np.uint8), np.ones((9, 9))) - person
    plate[cv2.dilate(ring, np.ones((3, 3))) > 0] = 255  # a bright outline where the fill ends
    assert fill_quality(plate, person, np.zeros_like(person)) < 0.7 * clean


def test_an_extra_blob_is_a_fragment_and_specks_are_not():
    dancer = figure() > 0
    blob = dancer.copy()
    cv2.circle(blob.view(np.uint8), (130, 30), 8, 1, -1)  # ~0.8% of the frame
    speck = dancer.copy()
    speck[10:13, 140:143] = True  # 9 px, below 0.2% of the frame
    assert fragments(dancer, dancer)[0] == 0
    assert fragments(blob, dancer)[0] == 1
    assert fragments(speck, dancer)[0] == 0


def test_a_hand_the_segmenter_splits_from_its_arm_is_no_fragment_a_loose_one_is():
    """A translucent forearm the segmenter misses leaves the hand apart from the body: where
    the driving body has its hand, that is the body; the same piece away from it is loose."""
    parts = figure(SHIFT)
    dancer = parts > 0
    dancer[np.isin(parts, (19,))] = False  # the left forearm unseen
    hand = np.zeros_like(dancer)
    cv2.circle(hand.view(np.uint8), (34 + SHIFT, 110), 6, 1, -1)  # the left hand below the wrist
    on_body = dancer | hand
    body = np.isin(parts, tuple(range(1, 25))) | hand
    assert fragments(on_body, body, reach=2)[0] == 0
    loose = dancer | np.roll(hand, -40, axis=1)  # the same piece where no hand is drawn
    assert fragments(loose, body, reach=2)[0] == 1


def test_register_slides_the_silhouette_onto_the_dancer():
    silhouette, dancer = figure() > 0, figure(12) > 0
    shift = register(silhouette, dancer)
    assert abs(shift[0, 2] - 12) <= 2 and abs(shift[1, 2]) <= 2


def joints_of(dx: int = 0) -> np.ndarray:
    """(24, 2) SMPL joints of the stick person moved right by dx."""
    joints = np.zeros((24, 2))
    joints[[1, 2, 4, 5, 7, 8]] = [[54, 96], [66, 96], [47, 126], [73, 126], [44, 154], [76, 154]]
    joints[[12, 15, 16, 17]] = [[60, 50], [60, 30], [50, 52], [70, 52]]
    joints[[18, 19, 20, 21]] = [[44, 80], [76, 80], [40, 104], [80, 104]]
    return joints + [dx, 0]


def test_parts_move_to_where_an_animator_drew_the_body():
    """An animator that records its drawn joints (a cut-out framed as the photo) is measured
    where it drew the body, even a third of the frame away, scaled by its spine; a photo turned
    aside (narrower shoulders) does not shrink what is asked for."""
    parts, driving = figure(), joints_of()
    drawn = driving * 0.8 + [55, 10]
    drawn[[16, 17]] = drawn[12] + (drawn[[16, 17]] - drawn[12]) * 0.4
    moved = framed_parts(parts, driving, drawn)
    expected = cv2.warpAffine(
        parts, np.float32([[0.8, 0, 55], [0, 0.8, 10]]), parts.shape[::-1],
        flags=cv2.INTER_NEAREST,
    )  # fmt: skip
    upper_arms = (15, 16)
    body = ~np.isin(expected, upper_arms) & ~np.isin(moved, upper_arms)
    assert np.mean((moved != expected) & body) < 0.002 and np.count_nonzero(moved) > 0
    # the upper arms hang from the drawn (narrower) shoulders, as thick as the spine scales them
    for part, (start, end) in ((15, (16, 18)), (16, (17, 19))):
        assert segment_distance(moved == part, drawn[start], drawn[end]).max() <= 5
        assert np.count_nonzero(moved == part) > 0.6 * 0.8 * np.count_nonzero(parts == part)


def test_a_limb_the_animator_keeps_in_the_photos_pose_is_asked_for_there(scene):
    """A seated photo's leg stays folded while the driving leg stands: the leg's parts are
    asked for along the drawn bones, so the photo's own leg, still there, is no leftover even
    where the segmenter misses it (a translucent body), and it covers what is asked."""
    parts, driving = figure(), joints_of()
    drawn = driving.copy()
    drawn[[5, 8]] = [[100, 110], [80, 130]]  # right knee out to the side, ankle tucked in
    folded = figure(without=RIGHT_LEG)
    cv2.line(folded, (66, 96), (100, 110), 9, 11)
    cv2.line(folded, (100, 110), (80, 130), 13, 9)
    moved = framed_parts(parts, driving, drawn)
    assert segment_distance(moved == 9, drawn[2], drawn[5]).max() <= 8
    assert segment_distance(moved == 13, drawn[5], drawn[8]).max() <= 8
    body = photo_body(
        dance_frame(scene, folded), (folded > 0).astype(np.float32),
        shown_parts(folded > 0, None, parts),
    )  # fmt: skip
    frame = dance_frame(scene, folded)
    missed = (folded > 0) & ~np.isin(folded, RIGHT_LEG)  # the segmenter misses the folded leg
    kept = check_frame(frame, missed.astype(np.float32), DrawnBody(moved, placed=True), body)
    slid = check_frame(frame, missed.astype(np.float32), DrawnBody(parts, placed=True), body)
    assert kept.leftovers < 0.2 * scene[4]["leftovers_max"] < slid.leftovers
    dancer = (folded > 0).astype(np.float32)
    assert check_frame(frame, dancer, DrawnBody(moved, placed=True), body).coverage > 0.95


LEGS = (7, 8, 9, 10, 11, 12, 13, 14)  # DensePose thighs and shins


def skeleton_of() -> np.ndarray:
    """(24, 2) every SMPL joint of the stick person: spine, collars, hands and feet too."""
    joints = joints_of()
    joints[[0, 3, 6, 9, 13, 14]] = [[60, 96], [60, 85], [60, 72], [60, 60], [55, 52], [65, 52]]
    joints[[10, 11, 22, 23]] = [[44, 158], [76, 158], [39, 110], [81, 110]]
    return joints


def test_the_photos_legs_drawn_in_place_are_no_leftover_a_hand_left_on_them_is(scene):
    """A seated photo's legs stay as photographed while the driving legs fall below the frame:
    the animator draws them in place, so they are its body even where the segmenter misses
    them. Drawn elsewhere, the photo's legs still shown are leftovers, and so is the photo's
    forearm beside them once the drawn arm is raised."""
    _, _, photo, body, gates = scene
    photo_joints, dancing = skeleton_of(), figure(arm_up=True)
    driving = np.where(np.isin(dancing, LEGS), 0, dancing)  # no driving legs in the frame
    drawn = photo_joints.copy()
    drawn[[19, 21, 23]] = [[96, 40], [118, 26], [124, 20]]  # the right arm raised
    frame = dance_frame(scene, dancing)
    missed = (driving > 0).astype(np.float32)  # the segmenter misses the legs

    def leftovers(drawn: np.ndarray, frame: np.ndarray = frame, still: bool = True) -> float:
        owners = bone_owners(body.person, photo_joints)
        kept = carried(owners, photo_joints, drawn) if still else None
        return check_frame(frame, missed, DrawnBody(driving, True, kept), body).leftovers

    assert leftovers(drawn) == 0.0 < gates["leftovers_max"] < leftovers(drawn, still=False)
    elsewhere = drawn.copy()
    elsewhere[[4, 5, 7, 8, 10, 11]] += [30, 0]
    assert leftovers(elsewhere) > gates["leftovers_max"]
    forearm = np.isin(figure(), (20,))
    left_behind = np.where(forearm[..., None], photo, frame)
    assert leftovers(drawn, left_behind) > gates["leftovers_max"]


def segment_distance(mask: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distances (n,) of the mask's pixels from the segment start-end."""
    points = np.argwhere(mask)[:, ::-1].astype(float)
    axis = end - start
    t = np.clip((points - start) @ axis / (axis @ axis), 0, 1)
    return np.linalg.norm(points - (start + t[:, None] * axis), axis=1)


def test_a_hand_left_on_the_body_is_a_leftover_even_moved_a_little(scene):
    """The photo's right forearm stays behind (carried 2-3 px by the torso) while the driving
    right arm is raised: it counts although the dancer's own mask covers it."""
    plate, colours, photo, _, gates = scene
    parts = figure()
    marks = np.zeros((33, 3))
    marks[[14, 16, 20, 18, 22]] = [
        [76, 80, 1],
        [80, 104, 1],
        [81, 110, 1],
        [79, 110, 1],
        [82, 108, 1],
    ]
    body = photo_body(
        photo, (parts > 0).astype(np.float32), shown_parts(parts > 0, None, parts), marks
    )
    dancing = figure(arm_up=True)
    frame = dance_frame(scene, dancing)
    clean = measure_with(body, frame, dancing)
    forearm = np.roll(np.isin(parts, (20,)), (3, 2), axis=(0, 1))
    frame[forearm] = np.roll(photo, (3, 2), axis=(0, 1))[forearm]
    left = measure_with(body, frame, dancing, extra=forearm)
    assert clean["leftovers"] == 0.0 and left["leftovers"] > gates["leftovers_max"]


def test_a_held_forearm_the_torso_carries_is_drawn_there_not_left_behind(scene):
    """The animator holds the photo's right arm as photographed (it runs out of the frame) and
    sways the whole body 3 px while the driving arm is raised: the photo's forearm, shown where
    the drawn skeleton carried it, is no leftover; with the skeleton raising that arm, the same
    frame leaves it behind."""
    photo = scene[2]
    parts, marks = figure(), np.zeros((33, 3))
    marks[[14, 16, 20, 18, 22]] = [[76, 80, 1], [80, 104, 1], [81, 110, 1], [79, 110, 1],
                                   [82, 108, 1]]  # fmt: skip
    body = photo_body(
        photo, (parts > 0).astype(np.float32), shown_parts(parts > 0, None, parts), marks
    )
    photo_joints = skeleton_of()
    swayed = np.roll(parts, (2, 3), axis=(0, 1))
    frame = np.roll(photo, (2, 3), axis=(0, 1))
    driving = np.roll(figure(arm_up=True), (2, 3), axis=(0, 1))

    def leftovers(drawn: np.ndarray) -> float:
        placed = DrawnBody(
            driving, True, carried(bone_owners(body.person, photo_joints), photo_joints, drawn),
            carried(bone_owners(body.forearms, photo_joints, ARM_ENDS), photo_joints, drawn),
        )  # fmt: skip
        return check_frame(frame, (swayed > 0).astype(np.float32), placed, body).leftovers

    held = photo_joints + [3, 2]
    raised = held.copy()
    raised[[19, 21, 23]] = [[96, 40], [118, 26], [124, 20]]
    assert leftovers(held) == 0.0 < leftovers(raised)


def test_a_sleeve_of_the_shirts_cloth_leaves_no_leftover_on_the_shirt(scene):
    """The photo's right arm wears the torso's colour; the raised arm uncovers the shirt, which
    the dancer's body shows where the forearm was: that is the shirt, not the arm left behind."""
    _, colours, photo, _, gates = scene
    parts = figure()
    sleeve = photo.copy()
    sleeve[np.isin(parts, (16, 20))] = colours[2]
    marks = np.zeros((33, 3))
    marks[[14, 16, 20, 18, 22]] = [[76, 80, 1], [80, 104, 1], [81, 110, 1], [79, 110, 1],
                                   [82, 108, 1]]  # fmt: skip
    body = photo_body(
        sleeve, (parts > 0).astype(np.float32), shown_parts(parts > 0, None, parts), marks
    )
    dancing = figure(arm_up=True)
    frame = dance_frame(scene, dancing)
    shirt = np.zeros_like(parts, bool)
    shirt[60:108, 70:85] = True  # the dancer's torso, wider here, covers where the forearm was
    frame[shirt] = colours[2]
    assert measure_with(body, frame, dancing, extra=shirt)["leftovers"] == 0.0


def measure_with(body, frame, parts, extra=None) -> dict[str, float]:
    dancer = (parts > 0) | (False if extra is None else extra)
    check = check_frame(frame, dancer.astype(np.float32), DrawnBody(parts), body)
    return {"leftovers": check.leftovers}


def test_a_rock_the_segmenter_takes_for_a_person_is_no_fragment_a_drawn_ball_is(scene):
    """The segmenter marks a patch of the untouched wall as a person: the animator drew nothing
    there, so it is no fragment; a ball the animator carries along is one."""
    parts = figure(SHIFT, arm_up=True)
    frame = dance_frame(scene, parts)
    blob = np.zeros(parts.shape, bool)
    cv2.circle(blob.view(np.uint8), (140, 140), 8, 1, -1)
    dancer = (parts > 0) | blob
    assert measure(scene, frame, dancer, parts)["fragments"] == 0
    frame[blob] = (30, 160, 60)  # a green ball where the photo shows wall
    assert measure(scene, frame, dancer, parts)["fragments"] == 1
