"""Parts stay whole and framed like the photo: a synthetic person painted one flat colour per
bone, so every output pixel tells which part of the photo it shows. The matte is given (the
reader is replaced), so these tests see only the bones, the mesh and the framing."""

import cv2
import numpy as np
import pytest
import zarr
from scipy import ndimage

from tasks.animate.cutout import animator as animator_module
from tasks.animate.cutout.animator import CutoutAnimator
from tasks.animate.cutout.bones import BONES, HEAD, NUM_BONES, TORSO
from tasks.animate.cutout.reference import ReferenceBody
from tasks.animate.task import cutout_frames
from tasks.base import StageContext
from tests.stage_params import stage_params

SIZE = 256
BACKGROUND = (128, 128, 128)
# A standing figure, 24 SMPL joints (x, y) px, head top at y ~38, feet at y ~245.
FIGURE = np.array(
    [
        [128, 140], [143, 148], [113, 148], [128, 125], [145, 190], [111, 190], [128, 110],
        [146, 228], [110, 228], [128, 95], [150, 238], [106, 238], [128, 75], [138, 80],
        [118, 80], [128, 55], [152, 84], [104, 84], [160, 114], [96, 114], [164, 142],
        [92, 142], [165, 152], [91, 152],
    ],
    dtype=np.float64,
)  # fmt: skip
FACE_BOX = (45, 138, 67, 118)  # (t, r, b, l) around the head
THICKNESS = {2: 13, 3: 11, 4: 9, 5: 13, 6: 11, 7: 9, 8: 18, 9: 14, 10: 10, 11: 18, 12: 14, 13: 10}
LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG = (18, 20, 22), (19, 21, 23), (4, 7, 10), (5, 8, 11)


def _colours() -> np.ndarray:
    """(14, 3) uint8: one saturated hue per bone, far from the grey background."""
    hues = np.arange(NUM_BONES, dtype=np.uint8) * (180 // NUM_BONES)
    hsv = np.stack([hues, np.full(NUM_BONES, 255), np.full(NUM_BONES, 230)], -1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


COLOURS = _colours()


def _paint(joints: np.ndarray, values: list, canvas: np.ndarray, order: tuple) -> np.ndarray:
    """Draw bones `order` of joints (24, 2) onto canvas with values[bone] (a colour or a part)."""
    for bone in order:
        spec = BONES[bone]
        if bone == TORSO:
            quad = joints[[16, 17, 2, 1]].round().astype(np.int32)
            cv2.fillConvexPoly(canvas, quad, values[bone])
        elif bone == HEAD:  # the neck runs down into the torso between the shoulders
            neck = joints[[16, 17]].mean(axis=0).round().astype(int)
            head = joints[15].round().astype(int)
            cv2.line(canvas, tuple(neck), tuple(head), values[bone], 12)
            cv2.ellipse(canvas, tuple(head), (13, 17), 0, 0, 360, values[bone], -1)
        else:
            a, b = joints[spec.start].round().astype(int), joints[spec.end].round().astype(int)
            cv2.line(canvas, tuple(a), tuple(b), values[bone], THICKNESS[bone])
    return canvas


FRONT_ORDER = (8, 9, 10, 11, 12, 13, TORSO, 2, 3, 4, 5, 6, 7, HEAD)  # arms over the torso
BEHIND_ORDER = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, TORSO, HEAD)  # torso over the arms


def photo_of(joints: np.ndarray, order: tuple = FRONT_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """The figure's bones `order` at joints (24, 2) on grey: photo (h, w, 3), mask (h, w)."""
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[:] = BACKGROUND
    colours = [tuple(int(c) for c in COLOURS[b]) for b in range(NUM_BONES)]
    _paint(joints, colours, image, order)
    mask = np.any(image != BACKGROUND, axis=-1).astype(np.float32)
    return image, mask


def parts_of(joints: np.ndarray, order: tuple = FRONT_ORDER) -> np.ndarray:
    """(SIZE, SIZE) uint8 DensePose part map of the figure at joints (24, 2)."""
    return _paint(joints, [BONES[b].parts[0] for b in range(NUM_BONES)],
                  np.zeros((SIZE, SIZE), np.uint8), order)  # fmt: skip


def _rotate(joints: np.ndarray, ids: tuple, pivot: int, degrees: float) -> None:
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    joints[list(ids)] = (joints[list(ids)] - joints[pivot]) @ rotation.T + joints[pivot]


def dance(base: np.ndarray, frames: int = 6, bend: float = 1.0) -> np.ndarray:
    """(frames, 24, 2): arms raised up to 150 deg, elbows and knees bent, the body bobbing."""
    out = []
    for t in range(frames):
        phase = t / max(frames - 1, 1)
        joints = base.copy()
        _rotate(joints, LEFT_ARM, 16, -150 * phase)
        _rotate(joints, RIGHT_ARM, 17, 150 * phase)
        _rotate(joints, (20, 22), 18, -60 * bend * phase)
        _rotate(joints, (21, 23), 19, 60 * bend * phase)
        _rotate(joints, (7, 10), 4, -70 * bend * phase)  # shins kick outwards, never crossing
        _rotate(joints, (8, 11), 5, 70 * bend * phase)
        joints[:, 1] -= 12 * np.sin(np.pi * phase)  # a hop
        out.append(joints)
    return np.stack(out)


def animate(monkeypatch, photo, mask, joints, face_box, clip, parts=None):
    """Frames and alphas of the cutout with the matte given."""
    body = ReferenceBody(mask=mask, joints=joints.astype(np.float32), source="test")
    monkeypatch.setattr(animator_module, "read_reference", lambda *args, **kwargs: body)
    parts = np.stack([parts_of(j) for j in clip]) if parts is None else parts
    animator = CutoutAnimator(fit_shape=0.0, mesh_step=stage_params("animate")["mesh_step"])
    animator.prepare(photo, face_box, parts[0], clip[0].astype(np.float32), clip_joints=clip)
    frames, alphas = animator.render_layers(parts, clip.astype(np.float32))
    return frames, alphas


def bone_pixels(frame: np.ndarray, bone: int, tolerance: int = 12) -> np.ndarray:
    """(h, w) bool: pixels of frame showing bone's colour."""
    return np.abs(frame.astype(int) - COLOURS[bone].astype(int)).max(axis=-1) <= tolerance


def test_a_half_body_photo_draws_nothing_below_its_cut_line(monkeypatch):
    # the figure twice as large about its head top: the frame cuts it at the waist and wrists
    half = (FIGURE - (128, 38)) * 2 + (128, 38)
    upper_body = (TORSO, 2, 3, 4, 5, 6, 7, HEAD)
    photo, mask = photo_of(half, upper_body)
    face = (52, 148, 96, 108)
    assert mask[-1].any() and not bone_pixels(photo, 8).any()  # cut at the waist, no legs
    clip = dance(half)
    frames, alphas = animate(monkeypatch, photo, mask, half, face, clip)
    waist = bone_pixels(photo[-1:], TORSO)[0]
    for frame, alpha in zip(frames, alphas, strict=True):
        # the waist still runs out of the frame: no gap below it, no stump
        assert (alpha[-1][waist] > 0.5).mean() > 0.9
        # every part cut by the frame edge still reaches an edge: its cut end is never seen
        for bone in range(NUM_BONES):
            if not bone_pixels(photo[-1:], bone).any():
                continue
            rows, cols = np.nonzero(bone_pixels(frame, bone))
            if len(rows):
                reach = min(SIZE - 1 - rows.max(), rows.min(), cols.min(), SIZE - 1 - cols.max())
                assert reach <= 2, f"{BONES[bone].name} shows its cut end"
        # nothing the photo lacks: no leg colour appears
        assert not any(bone_pixels(frame, bone).any() for bone in (8, 9, 11, 12))


def test_a_full_body_photo_keeps_every_part_and_stays_in_frame(monkeypatch):
    photo, mask = photo_of(FIGURE)
    clip = dance(FIGURE)
    clip[:, :, 1] += np.linspace(0, 40, len(clip))[:, None]  # the dance sinks out of frame
    frames, alphas = animate(monkeypatch, photo, mask, FIGURE, FACE_BOX, clip)
    shown = {b: int(bone_pixels(photo, b).sum()) for b in range(NUM_BONES)}
    assert all(count > 20 for count in shown.values())
    for frame, alpha in zip(frames, alphas, strict=True):
        for bone, count in shown.items():
            drawn = int(bone_pixels(frame, bone).sum())
            assert drawn > 0.3 * count, f"{BONES[bone].name}: {drawn} of {count} px"
        area = (alpha > 0.5).sum()
        assert 0.75 * mask.sum() < area < 1.3 * mask.sum()  # nothing dropped, nothing invented
        # the feet stay in: no person pixel on the bottom row
        assert not (alpha[-1] > 0.5).any()


def test_no_tear_at_shoulders_hips_and_knees_in_a_strongly_bent_pose(monkeypatch):
    photo, mask = photo_of(FIGURE)
    clip = dance(FIGURE, frames=4, bend=1.6)
    _, alphas = animate(monkeypatch, photo, mask, FIGURE, FACE_BOX, clip)
    for alpha in alphas:
        _, count = ndimage.label(alpha > 0.5, structure=np.ones((3, 3)))
        assert count == 1


@pytest.mark.parametrize("arm_in_front", [True, False])
def test_the_driving_part_map_decides_whether_the_arm_is_over_the_torso(monkeypatch, arm_in_front):
    photo, mask = photo_of(FIGURE)
    crossed = FIGURE.copy()
    _rotate(crossed, LEFT_ARM, 16, 35)  # the upper arm down along the side
    _rotate(crossed, (20, 22), 18, 100)  # the forearm across the belly
    clip = np.stack([FIGURE, crossed])
    order = FRONT_ORDER if arm_in_front else BEHIND_ORDER
    parts = np.stack([parts_of(j, order) for j in clip])
    frames, _ = animate(monkeypatch, photo, mask, FIGURE, FACE_BOX, clip, parts)
    torso_area = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillConvexPoly(torso_area, crossed[[16, 17, 2, 1]].round().astype(np.int32), 1)
    inner = cv2.erode(torso_area, np.ones((9, 9), np.uint8)) > 0
    forearm_over_torso = (bone_pixels(frames[1], 3) & inner).sum()
    if arm_in_front:
        assert forearm_over_torso > 60
    else:
        assert forearm_over_torso < 10


def test_a_travelling_half_body_dancer_keeps_its_head_in_frame(monkeypatch):
    # the body cut at the bottom and the left edge, the head whole
    half = (FIGURE - (128, 38)) * 2 + (128 - 90, 38)
    photo, mask = photo_of(half, (TORSO, 2, 3, 4, 5, 6, 7, HEAD))
    assert bone_pixels(photo[:, :1], TORSO).any() and not bone_pixels(photo[:, :1], HEAD).any()
    clip = dance(half)
    clip[:, :, 0] -= np.linspace(0, 160, len(clip))[:, None]  # walks out to the left
    frames, _ = animate(monkeypatch, photo, mask, half, (52, 58, 96, 18), clip)
    head = int(bone_pixels(photo, HEAD).sum())
    for frame in frames:
        assert bone_pixels(frame, HEAD).sum() > 0.9 * head


def test_an_arm_the_photos_side_cuts_stays_whole_and_runs_out_of_the_frame(monkeypatch):
    """The photo's right arm reaches out of its left edge: swung by the dance, it would end in
    a cut stump; it keeps the photo's pose, its pieces always run into the edge, while the left
    arm, inside the frame, dances."""
    reach = FIGURE.copy()
    reach[[19, 21, 23]] = [(70, 90), (20, 96), (-10, 98)]  # out to the left, past x = 0
    photo, mask = photo_of(reach)
    assert bone_pixels(photo[:, :1], 7).any()  # the hand is cut by the edge
    clip = dance(reach)
    frames, _ = animate(monkeypatch, photo, mask, reach, FACE_BOX, clip)
    left_arm = []
    for frame in frames:
        right_arm = np.any([bone_pixels(frame, bone) for bone in (5, 6, 7)], axis=0)
        pieces, count = ndimage.label(right_arm)
        sizes = ndimage.sum(right_arm, pieces, range(1, count + 1))
        at_edge = set(np.unique(pieces[:, 0])) - {0}
        assert all(i + 1 in at_edge for i, size in enumerate(sizes) if size > 20)
        assert right_arm.sum() > 0.8 * np.any([bone_pixels(photo, b) for b in (5, 6, 7)], 0).sum()
        left_arm.append(bone_pixels(frame, 3))
    assert (left_arm[0] != left_arm[-1]).mean() > 0.005  # the other arm moved


def test_an_arm_whose_hand_the_photo_hides_keeps_its_pose_and_hides_the_same_body(
    monkeypatch, caplog
):
    """The left wrist is hidden behind something held: that arm keeps the photo's pose while
    the right one dances, and what the right arm hides of the body is drawn as when both arms
    dance (taken for torso, the held arm widened the body mirrored about the spine, and the
    astronaut's chest patch showed twice)."""
    photo, mask = photo_of(FIGURE)
    clip = dance(FIGURE)
    parts = np.stack([parts_of(j) for j in clip])
    runs = {}
    for held in (False, True):
        hidden = np.zeros(24, dtype=bool)
        hidden[20] = held
        body = ReferenceBody(mask, FIGURE.astype(np.float32), "test", hidden)
        monkeypatch.setattr(animator_module, "read_reference", lambda *_, body=body, **__: body)
        animator = CutoutAnimator(fit_shape=0.0, mesh_step=stage_params("animate")["mesh_step"])
        animator.prepare(photo, FACE_BOX, parts[0], clip[0].astype(np.float32), clip_joints=clip)
        frames, _ = animator.render_layers(parts, clip.astype(np.float32))
        runs[held] = animator.layers[SIZE + 2 :], frames[-1]
        said = "the photo hides the person's left hand: that arm keeps the photo's pose"
        assert (said in caplog.text) == held
    assert np.array_equal(runs[True][0], runs[False][0])  # the body's layer under the arms
    shoulder = FIGURE[16, 1]
    for held, (_, last) in runs.items():  # the last frame raises both arms by 150 degrees
        rows = np.nonzero(np.any([bone_pixels(last, bone) for bone in (3, 4)], axis=0))[0]
        assert (rows.mean() > shoulder + 20) if held else (rows.mean() < shoulder)


def test_a_held_forearm_across_the_body_is_drawn_as_photographed(monkeypatch):
    """The left hand hidden, its forearm lies across the belly (the painting's crossed arms):
    it keeps the photo's pose on the torso's sheet, so every frame draws it. Filled as if it
    moved away, it showed as the torso's rows smeared where the forearm was."""
    across = FIGURE.copy()
    across[[20, 22]] = [(128, 128), (118, 132)]  # the wrist and hand in front of the belly
    photo, mask = photo_of(across)
    clip = dance(across)
    parts = np.stack([parts_of(j) for j in clip])
    hidden = np.zeros(24, dtype=bool)
    hidden[20] = True
    body = ReferenceBody(mask, across.astype(np.float32), "test", hidden)
    monkeypatch.setattr(animator_module, "read_reference", lambda *_, **__: body)
    animator = CutoutAnimator(fit_shape=0.0, mesh_step=stage_params("animate")["mesh_step"])
    animator.prepare(photo, FACE_BOX, parts[0], clip[0].astype(np.float32), clip_joints=clip)
    frames, _ = animator.render_layers(parts, clip.astype(np.float32))
    torso_cols = np.nonzero(bone_pixels(photo, TORSO)[128])[0]
    forearm_cols = np.nonzero(bone_pixels(photo, 3)[128])[0]
    assert forearm_cols.min() < torso_cols.max() - 10  # it lies in front of the torso
    for frame in frames:
        assert bone_pixels(frame, 3).sum() > 0.8 * bone_pixels(photo, 3).sum()


def _cropped_align(photo, parts, clip, face_box, left, width):
    """The align stage's group for the figure's photo cropped to columns left .. left + width,
    the whole photo kept as its context (a square photo in a portrait video)."""
    align = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    top, right, bottom, box_left = face_box
    align.create_array("reference", data=photo[:, left : left + width])
    align.create_array("context", data=photo)
    align.create_array("parts", data=parts[:, :, left : left + width])
    align.create_array("joints2d", data=(clip - (left, 0)).astype(np.float32))
    align.attrs.update(
        {
            "face_box": [top, right - left, bottom, box_left - left],
            "photo_box": [0, width, SIZE, 0],
            "other_faces": [],
            "context_left": left,
            "context_faces": [],
        }
    )
    return align


def test_an_arm_a_portrait_crop_cuts_dances_from_the_whole_photo(monkeypatch, tmp_path, caplog):
    """A square photo in a portrait video: the crop around the face cuts the outstretched right
    arm. Read from the crop alone, that arm ran out of the photo's side and kept its pose; read
    from the whole photo (align's context), it dances, and the frames are the canvas's size."""
    reach = FIGURE.copy()
    reach[[19, 21, 23]] = [(70, 84), (40, 84), (28, 84)]  # out to the left, past the crop
    photo, mask = photo_of(reach)
    clip = dance(reach)
    parts = np.stack([parts_of(j) for j in clip])
    left, width = 64, 128
    cropped_joints = (reach - (left, 0)).astype(np.float32)
    bodies = {
        "crop": ReferenceBody(mask[:, left : left + width], cropped_joints, "test"),
        "context": ReferenceBody(mask, reach.astype(np.float32), "test"),
    }
    runs = {}
    for name in ("crop", "context"):
        body = bodies[name]
        monkeypatch.setattr(animator_module, "read_reference", lambda *_, b=body, **__: b)
        align = _cropped_align(photo, parts, clip, FACE_BOX, left, width)
        if name == "crop":  # as before the context: the crop is all the cut-out sees
            del align["context"]
        ctx = StageContext(
            params=stage_params("animate", fit_shape=0.0),
            upstream={"align": align},
            out=zarr.open_group(zarr.storage.MemoryStore(), mode="w"),
            workdir=tmp_path,
        )
        caplog.clear()
        frames = np.concatenate(list(cutout_frames(ctx)))
        assert frames.shape == (len(clip), SIZE, width, 3)
        held = "the person's right arm runs out of the photo's side" in caplog.text
        right_arm = [np.any([bone_pixels(f, b) for b in (5, 6, 7)], axis=0) for f in frames]
        moved = (right_arm[0] != right_arm[-1]).mean()
        runs[name] = held, moved
    assert runs["crop"][0] and not runs["context"][0]
    assert runs["context"][1] > 0.02 and runs["context"][1] > 3 * runs["crop"][1]
