"""The body gates on whole clips, measured as the evaluate stage measures them (MediaPipe
segmentation of every output frame): the preview animator's output fails them, a clean cut-out
of the same photo passes."""

import logging

import cv2
import numpy as np
import pytest
import zarr
from skimage.data import astronaut

from flows.evaluate import evaluation_params
from tasks.animate.preview import labelled_reference, side_by_side
from tasks.base import StageContext
from tasks.evaluate.body import forearm_mask
from tasks.evaluate.gates import evaluate_gates
from tasks.evaluate.segment import PersonSegmenter
from tasks.evaluate.task import _body

SIZE = 256
FRAMES = 6
STEP = 10  # px the cut-out slides right per frame
BODY_GATES = ("coverage_min", "leftovers_max", "fragments_max", "fill_quality_min",
              "background_change_max")  # fmt: skip


def group(**arrays) -> zarr.Group:
    g = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    for name, value in arrays.items():
        g.create_array(name, shape=value.shape, dtype=value.dtype)[...] = value
    return g


@pytest.fixture(scope="module")
def clip():
    """(photo, driving parts, clean frames): the astronaut on a textured wall, and the same
    person cut out and slid right over the bare wall as the driving silhouette moves."""
    original = cv2.resize(astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    with PersonSegmenter() as segment:
        person = segment(original).mask > 0.5
    rng = np.random.default_rng(0)
    noise = rng.integers(90, 170, (SIZE // 4, SIZE // 4), dtype=np.uint8)
    wall = cv2.resize(noise, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    wall = np.repeat(cv2.GaussianBlur(wall, (0, 0), 1.0)[..., None], 3, axis=2)
    photo = np.where(person[..., None], original, wall)
    with PersonSegmenter() as segment:
        landmarks = segment(photo).landmarks
    # Driving parts: torso, with lower arms where the photo's forearms are (they move along).
    labels = np.where(forearm_mask(landmarks, person.shape) & person, 19, 2) * person
    parts, frames = [], []
    for t in range(FRAMES):
        shift = np.float32([[1, 0, STEP * t], [0, 1, 0]])
        moved = cv2.warpAffine(person.astype(np.uint8), shift, (SIZE, SIZE)) > 0
        moved_labels = cv2.warpAffine(labels.astype(np.uint8), shift, (SIZE, SIZE), flags=0)
        parts.append(np.where(moved, np.maximum(moved_labels, 2), 0).astype(np.uint8))
        frames.append(np.where(moved[..., None], cv2.warpAffine(photo, shift, (SIZE, SIZE)), wall))
    return photo, np.stack(parts), np.stack(frames)


def body_failures(photo, parts, frames, tmp_path) -> tuple[dict, list[str]]:
    upstream = {"align": group(reference=photo, parts=parts), "animate": group(frames=frames)}
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext({}, upstream, out, tmp_path, log=logging.getLogger("t"))
    metrics = _body(ctx, stride=1)
    _, gates = evaluation_params()
    return metrics, evaluate_gates(metrics, {k: gates[k] for k in BODY_GATES})


def test_a_clean_cutout_passes_the_body_gates(clip, tmp_path):
    metrics, failed = body_failures(*clip, tmp_path)
    assert failed == [], metrics
    assert metrics["coverage"] > 0.95 and metrics["leftovers"] < 0.002


def test_the_preview_animator_fails_the_body_gates(clip, tmp_path):
    photo, parts, _ = clip
    driving = np.full((*parts.shape, 3), 40, np.uint8)
    driving[parts > 0] = (30, 90, 200)  # DensePose colours on the align stage's dark ground
    preview = side_by_side(labelled_reference(photo), driving)  # (T, h, 2w, 3)
    metrics, failed = body_failures(photo, parts, preview, tmp_path)
    assert "coverage_min" in failed, metrics


def test_a_plate_smeared_where_the_dancer_leaves_it_bare_fails_though_most_frames_are_clean(
    clip, tmp_path
):
    """The last two frames, where the cut-out has slid farthest, show the plate blurred where the
    photo's person stood: the median frame is clean, the worst quarter is not."""
    photo, parts, frames = clip
    with PersonSegmenter() as segment:
        person = segment(photo).mask > 0.5
    smeared = frames.copy()
    for t in (FRAMES - 2, FRAMES - 1):
        bare = person & (parts[t] == 0)
        smeared[t][bare] = cv2.GaussianBlur(frames[t], (0, 0), 8.0)[bare]
    metrics, failed = body_failures(photo, parts, smeared, tmp_path)
    assert failed == ["fill_quality_min"], metrics
