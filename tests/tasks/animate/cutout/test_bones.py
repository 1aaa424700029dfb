from dataclasses import replace

import numpy as np

from tasks.animate.cutout.bones import (
    BONES,
    HEAD,
    NUM_BONES,
    _by_chroma,
    _by_edges,
    arms_over_legs,
    bone_transforms,
    clip_widths,
    deform,
    fit_retarget,
    hidden_arms,
    hip_band,
    label_points,
    limit_turn,
    part_to_bone,
    rest_pose,
    retarget,
    side_cut_arms,
    skin_weights,
)
from tests.tasks.animate.cutout.driving import T_POSE_FACE as FACE
from tests.tasks.animate.cutout.driving import T_POSE_JOINTS as JOINTS


def test_part_table_covers_every_densepose_part_once():
    table = part_to_bone()
    assert table[0] == -1
    assert sorted(p for bone in BONES for p in bone.parts) == list(range(1, 25))
    assert table[23] == table[24] == HEAD


def test_labels_follow_the_nearest_bone_and_pin_the_face():
    points = np.array([[145, 115], [175, 118], [100, 170], [100, 80], [112, 90]], dtype=float)
    names = [BONES[i].name for i in label_points(points, JOINTS, FACE)]
    assert names == ["left_upper_arm", "left_lower_arm", "torso", "head", "head"]


def test_skin_weights_are_convex_and_continuous_across_the_elbow():
    elbow = JOINTS[18]
    points = np.array([elbow + (-0.25, 3), elbow + (0.25, 3), elbow + (-60, 0)])
    labels = np.array([2, 3, 2], dtype=np.int8)  # upper arm, lower arm, upper arm
    weights = skin_weights(points, labels, JOINTS)
    assert np.allclose(weights.sum(axis=1), 1.0) and (weights >= -1e-6).all()
    assert np.abs(weights[0] - weights[1]).max() < 0.05  # the seam does not tear
    assert 0.3 < weights[0, 3] < 0.7
    assert weights[2, 2] == 1.0  # far from joints: rigid on its own bone


def test_head_stays_rigid():
    face = np.array([[100, 95], [95, 85], [105, 100]], dtype=float)
    weights = skin_weights(face, np.full(3, HEAD, dtype=np.int8), JOINTS)
    assert np.allclose(weights[:, HEAD], 1.0)


def test_identity_pose_gives_identity_transforms():
    transforms = bone_transforms(JOINTS, JOINTS[None])[0]
    eye = np.concatenate([np.eye(2), np.zeros((2, 1))], axis=1)
    assert np.allclose(transforms, eye[None].repeat(NUM_BONES, 0), atol=1e-4)


def test_raised_forearm_carries_its_pixels():
    posed = JOINTS.copy()
    posed[[20, 22]] = posed[18] + (posed[[20, 22]] - posed[18]) @ np.array([[0, -1], [1, 0]])
    transforms = bone_transforms(JOINTS, posed[None])[0]
    mid_forearm = np.array([[175.0, 115.0]])
    weights = np.zeros((1, NUM_BONES), dtype=np.float32)
    weights[0, 3] = 1.0
    moved = deform(mid_forearm, weights, transforms)[0]
    assert np.allclose(moved, [160.0, 100.0], atol=0.5)  # rotated 90 degrees up about the elbow


def test_retarget_keeps_the_photo_proportions_and_a_folded_leg():
    photo = JOINTS.copy()
    photo[[7, 10]] = photo[4] + (photo[[7, 10]] - photo[4]) @ np.array([[0, 1], [-1, 0]])
    photo[[16, 18, 20, 22]] += (10.0, 0.0)  # a wider left shoulder: the arm hangs further out
    clip = np.stack([JOINTS + (5.0 * t, 0.0) for t in range(5)])  # standing, drifting right
    posed = retarget(clip, fit_retarget(photo, clip))
    home = posed[2]  # the clip's median frame
    assert np.allclose(home[[16, 18, 20]], photo[[16, 18, 20]], atol=1e-6)  # photo's arm
    assert np.allclose(home[7] - home[4], photo[7] - photo[4], atol=1e-6)  # still folded
    assert np.allclose(home[[5, 8]], photo[[5, 8]], atol=1e-6)  # the straight leg follows


def test_an_arm_the_photos_side_edge_cuts_keeps_the_photos_pose_the_other_dances():
    """The T-pose's right hand runs into the image's left edge: that arm is held as
    photographed (swung, its cut end would show), moved with its shoulder; the left arm,
    inside the frame, takes the dance's raise."""
    labels = np.full((340, 220), -1, dtype=np.int8)
    labels[110:121, 0:40] = 7  # right hand, at the left edge
    labels[110:121, 40:70] = 6
    labels[110:121, 160:200] = 3  # left forearm, ends inside
    held = side_cut_arms(labels, JOINTS, None)
    assert np.flatnonzero(held).tolist() == [19, 21, 23]
    labels[:, :3] = -1  # the hand ends 3 px inside
    assert not side_cut_arms(labels, JOINTS, (0, 220, 340, 0)).any()
    raised = JOINTS.copy()
    for joint in (18, 20, 22, 19, 21, 23):  # both arms raised about their shoulders
        shoulder = JOINTS[16 if joint % 2 == 0 else 17]
        raised[joint] = shoulder + (JOINTS[joint] - shoulder) @ np.array([[0, 1], [-1, 0]])
    clip = np.stack([JOINTS, raised + (4.0, 0.0)])
    fit = replace(fit_retarget(JOINTS, clip), held=held)
    posed = retarget(clip, fit)
    for frame in posed:
        assert np.allclose(frame[[19, 21, 23]] - frame[17], JOINTS[[19, 21, 23]] - JOINTS[17])
    assert np.allclose(posed[1, 20] - posed[1, 16], raised[20] - raised[16], atol=1e-6)


def test_an_arm_whose_wrist_the_photo_hides_keeps_the_photos_pose():
    """The left wrist is behind what the person holds: the left arm's three joints are held,
    and so moved with the shoulder, not swung; the right arm dances."""
    hidden = np.zeros(24, dtype=bool)
    hidden[20] = True  # left wrist
    held = hidden_arms(hidden)
    assert np.flatnonzero(held).tolist() == [18, 20, 22]
    assert not hidden_arms(np.zeros(24, dtype=bool)).any()
    raised = JOINTS.copy()
    raised[[18, 20, 22]] = JOINTS[16] + (JOINTS[[18, 20, 22]] - JOINTS[16]) @ [[0, 1], [-1, 0]]
    raised[[19, 21, 23]] = JOINTS[17] + (JOINTS[[19, 21, 23]] - JOINTS[17]) @ [[0, 1], [-1, 0]]
    clip = np.stack([JOINTS, raised])
    posed = retarget(clip, replace(fit_retarget(JOINTS, clip), held=held))
    assert np.allclose(posed[1, [18, 20, 22]] - posed[1, 16], JOINTS[[18, 20, 22]] - JOINTS[16])
    assert np.allclose(posed[1, 21] - posed[1, 17], raised[21] - raised[17], atol=1e-6)


def test_a_seated_photo_keeps_its_legs_and_sways_the_upper_body_about_its_hips():
    """Both thighs folded (crossed legs): the dance travels and leans, the photo's pelvis and legs
    stay put, the neck keeps its distance from the hips and leans at most SEATED_LEAN_DEG."""
    photo = JOINTS.copy()
    turn = np.array([[0, 1], [-1, 0]])
    for hip, chain in ((1, [4, 7, 10]), (2, [5, 8, 11])):
        photo[chain] = photo[hip] + (photo[chain] - photo[hip]) @ (turn if hip == 1 else turn.T)
    lean = np.radians(np.linspace(-40, 40, 9))
    clip = np.stack([JOINTS + (20.0 * t, 3.0 * t) for t in range(9)])  # travels as it leans
    hips = clip[:, [1, 2]].mean(axis=1, keepdims=True)
    rot = np.array([[np.cos(lean), -np.sin(lean)], [np.sin(lean), np.cos(lean)]]).transpose(2, 0, 1)
    upper = list(range(24))
    clip[:, upper] = hips + np.einsum("tij,tkj->tki", rot, clip[:, upper] - hips)
    fit = fit_retarget(photo, clip)
    posed = retarget(clip, fit)
    assert fit.seated
    assert np.allclose(
        posed[:, [0, 1, 2, 4, 5, 7, 8, 10, 11]], photo[[0, 1, 2, 4, 5, 7, 8, 10, 11]]
    )
    photo_hips = photo[[1, 2]].mean(axis=0)
    spine = posed[:, 12] - photo_hips
    assert np.allclose(np.linalg.norm(spine, axis=1), np.linalg.norm(photo[12] - photo_hips))
    tilt = np.degrees(np.arctan2(spine[:, 0], -spine[:, 1]))
    assert np.ptp(tilt) > 20 and np.abs(tilt).max() <= 15.0 + 1e-6  # sways, within the limit


def test_leg_points_under_a_hand_go_with_the_hand_the_rest_of_the_leg_stays():
    """A seated photo's hand resting on its knee: the leg pixels within the hand's thickness
    leave with the hand, those farther away stay with the leg."""
    hand = BONES[4]
    wrist, palm = JOINTS[hand.start], JOINTS[hand.end]
    side = np.array([-(palm - wrist)[1], (palm - wrist)[0]]) / np.linalg.norm(palm - wrist)
    under, beside = palm + 2.0 * side, palm + 200.0 * side
    labels = np.array([8, 8], dtype=np.int8)  # both labelled left thigh
    out = arms_over_legs(np.array([under, beside]), labels, JOINTS)
    assert [BONES[i].name for i in out] == ["left_hand", "left_upper_leg"]


def test_the_hip_band_takes_the_thighs_in_the_hips_garment_not_bare_skin():
    """Jeans from the hips down the thighs: the tops of both thighs are in the band; shorts
    over bare thighs: only the shorts' legs are, the skin below them is not."""
    hip_y = int(JOINTS[[1, 2], 1].mean())
    labels = np.full((340, 220), -1, dtype=np.int8)
    labels[hip_y - 40 : hip_y + 8, 80:140] = 0  # torso, reaching a little below the hip line
    labels[hip_y + 8 : hip_y + 80, 80:110], labels[hip_y + 8 : hip_y + 80, 110:140] = 8, 11
    jeans = np.full((340, 220, 3), (60, 90, 160), dtype=np.uint8)
    band = hip_band(jeans, labels, JOINTS, reach=40.0)
    assert band[hip_y + 10 : hip_y + 30, 80:140].all() and not band[hip_y + 60 :].any()
    assert not band[labels == 0].any()  # only thighs
    shorts = jeans.copy()
    shorts[hip_y + 20 :] = (200, 150, 120)  # bare skin below the hem
    band = hip_band(shorts, labels, JOINTS, reach=40.0)
    assert band[hip_y + 10 : hip_y + 20, 80:140].all() and not band[hip_y + 20 :].any()


def test_colour_decides_between_nearly_equally_near_bones():
    rows, cols = np.mgrid[60:330, 70:166]  # a person as tall as the T-pose figure
    points = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float32)
    image = np.full((340, 220, 3), 240, dtype=np.uint8)  # a white top
    image[100:136, 122:166] = (200, 30, 30)  # a red sleeve hanging wide of the arm's axis
    probe = np.flatnonzero((points[:, 0] == 128) & (points[:, 1] == 130))
    by_distance = label_points(points, JOINTS, FACE)
    by_colour = label_points(points, JOINTS, FACE, image)
    assert BONES[by_distance[probe][0]].name == "torso"
    assert BONES[by_colour[probe][0]].name == "left_upper_arm"
    white = (points[:, 0] < 110) & (points[:, 1] > 150)
    assert (by_colour[white] == by_distance[white]).all()  # clear cases keep their bone


def test_an_arm_against_the_body_in_the_same_colour_is_split_along_its_outline():
    """A bare arm hanging against a bare midriff: colour cannot tell them apart, the shading
    line along the arm's inner edge can."""
    rows, cols = np.mgrid[60:330, 70:166]
    points = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float32)
    image = np.full((340, 220, 3), (150, 100, 70), dtype=np.uint8)  # skin everywhere
    image[100:136, 120:122] = (60, 40, 30)  # the shadow line between arm and body
    probe = np.flatnonzero((points[:, 0] == 128) & (points[:, 1] == 130))
    body_side = np.flatnonzero((points[:, 0] == 114) & (points[:, 1] == 130))
    by_distance = label_points(points, JOINTS, FACE)
    by_edges = label_points(points, JOINTS, FACE, image)
    assert BONES[by_distance[probe][0]].name == "torso"
    assert BONES[by_edges[probe][0]].name == "left_upper_arm"
    assert BONES[by_edges[body_side][0]].name == "torso"


def test_rest_pose_hangs_the_limbs_whatever_frame_0_does():
    clip = np.stack([JOINTS] * 5)  # a T-pose: arms out sideways
    pose = rest_pose(clip)
    for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):
        assert np.allclose(pose[shoulder], JOINTS[shoulder])  # the torso stays
        assert np.allclose(pose[elbow], JOINTS[shoulder] + (0, 30))  # upper arm, 30 px, down
        assert np.allclose(pose[wrist], pose[elbow] + (0, 30))  # the forearm below it


def test_a_turn_past_the_facing_limit_is_drawn_flattened_never_mirrored():
    front = JOINTS.copy()
    side = JOINTS.copy()  # turned 90 degrees: each side's shoulder and arm on the spine
    side[[13, 16, 18, 20, 22]] -= (side[16] - side[12]) * (1, 0)
    side[[14, 17, 19, 21, 23]] -= (side[17] - side[12]) * (1, 0)
    back = JOINTS.copy()  # seen from behind: left and right swapped
    back[:, 0] = 2 * JOINTS[12, 0] - JOINTS[:, 0]
    clip = np.stack([front, side, back])
    limited = limit_turn(clip, clip_widths(clip[:1]))
    full = np.linalg.norm(front[16] - front[17])
    for joints in limited:
        across = joints[16, 0] - joints[17, 0]  # the person's left stays on the viewer's right
        assert across >= 0.5 * full - 1e-6
    assert np.allclose(limited[0], front)  # facing the camera: untouched


def test_the_edge_split_parts_arm_from_body_never_one_arm_bone_from_another():
    """Points about as near to the forearm as to the torso are split by flooding the photo's
    edges; the upper arm's flood reaching them (through a shadow of the same colour) must not
    give them to the upper arm: it would stretch them out to where the forearm was."""
    image = np.full((16, 30, 3), 128, dtype=np.uint8)  # no edge: floods meet midway
    xs, ys = np.meshgrid(np.arange(30), np.arange(5, 11))
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    x = points[:, 0]
    scores = np.full((len(points), NUM_BONES), 10.0, dtype=np.float32)
    scores[x < 10, 2] = 1.0  # upper arm, sure
    middle = (x >= 10) & (x < 20)
    scores[middle, 3], scores[middle, 2], scores[middle, 0] = 1.0, 1.5, 1.5
    scores[x >= 20, 0] = 1.0  # torso, sure
    labels = scores.argmin(axis=1).astype(np.int8)
    out = _by_edges(image, points, scores, labels)
    assert set(np.unique(out[middle])) <= {0, 3} and (out[middle] == 0).any()
    # given to the torso first (the colour pass: a forearm's shaded side beside bare skin), the
    # points the upper arm's flood reaches go back to the arm bone they are nearest, the forearm
    labels[middle] = 0
    out = _by_edges(image, points, scores, labels)
    assert set(np.unique(out[middle])) <= {0, 3} and (out[middle] == 3).any()


def _forearm_beside_body(body: tuple, shade: tuple, skin: tuple):
    """A 300x60 photo: body cloth in columns 0-29, the forearm's shaded side in 30-35, its lit
    skin in 36-59 (grain added); points, scores (torso along x 22, forearm along x 45) and the
    labels a watershed through the shading gives (the shaded side to the torso)."""
    rng = np.random.default_rng(0)
    image = np.zeros((300, 60, 3), np.float32)
    image[:, :30], image[:, 30:36], image[:, 36:] = body, shade, skin
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    ys, xs = np.mgrid[0:300, 0:60]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    scores = np.full((len(points), NUM_BONES), 1e3, dtype=np.float32)
    scores[:, 0] = np.abs(points[:, 0] - 22) / 10
    scores[:, 3] = np.abs(points[:, 0] - 45) / 10
    labels = np.where(points[:, 0] < 36, 0, 3).astype(np.int8)
    return image, points, scores, labels


def test_a_forearms_shaded_side_against_the_jeans_goes_with_the_arm_by_its_chromaticity():
    """The watershed split the forearm along its shading (a stronger edge than the jeans' in
    shadow): its dark skin, as warm as the lit skin and unlike the jeans, joins the arm; the
    jeans stay. A fold of the body's own cloth (the astronaut's suit), only darker, stays too."""
    image, points, scores, labels = _forearm_beside_body(
        (40, 50, 60), (60, 44, 30), (200, 150, 120)
    )
    out = _by_chroma(image, points, scores, labels)
    x = points[:, 0]
    assert (out[(x >= 31) & (x < 36)] == 3).all()  # column 30 is blurred into the jeans
    assert (out[x < 30] == 0).all() and (out[x >= 36] == 3).all()
    image, points, scores, labels = _forearm_beside_body(
        (200, 90, 60), (100, 45, 30), (200, 90, 60)
    )
    assert np.array_equal(_by_chroma(image, points, scores, labels), labels)
