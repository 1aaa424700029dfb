"""The align stage end to end on in-memory groups and the astronaut photo."""

import logging

import cv2
import numpy as np
import pytest
import zarr
from PIL import Image
from skimage import data

from tasks.align.task import SPEC
from tasks.base import InputError, StageContext
from tasks.densepose.colors import colorize
from tests.stage_params import stage_params

FRAMES = 11


def _group() -> zarr.Group:
    return zarr.open_group(zarr.storage.MemoryStore(), mode="w")


def _upstream(size=(96, 64)) -> dict[str, zarr.Group]:
    """A 11-frame driving video (96x64 unless given): a 12x10 px head (23/24) over a torso,
    stepping right."""
    parts = np.zeros((FRAMES, *size), np.uint8)
    for i in range(FRAMES):
        parts[i, 20:32, 20 + i : 25 + i] = 23
        parts[i, 20:32, 25 + i : 30 + i] = 24
        parts[i, 32:80, 15 + i : 35 + i] = 2
    joints = np.zeros((FRAMES, 24, 2), np.float32)
    joints[:, 15] = np.stack([25.0 + np.arange(FRAMES), np.full(FRAMES, 26.0)], axis=1)
    densepose, render = _group(), _group()
    densepose.create_array("parts", data=parts, chunks=(8, *size))
    densepose.create_array("rgb", data=colorize(parts), chunks=(8, *size, 3))
    densepose.attrs["fps"] = 30
    render.create_array("joints2d", data=joints)
    return {"densepose": densepose, "render": render}


def _run(tmp_path, image, driving=(96, 64), **overrides) -> zarr.Group:
    params = stage_params("align", resolution=128) | overrides
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    out = _group()
    ctx = StageContext(
        params=params, upstream=_upstream(driving), out=out, workdir=tmp_path, image_path=path
    )
    SPEC.compute(ctx)
    return out


def test_writes_contract_arrays_and_puts_the_head_on_the_face(tmp_path):
    photo = np.pad(data.astronaut(), ((0, 0), (0, 256), (0, 0)))  # 512 x 768: landscape
    out = _run(tmp_path, photo)
    h, w = 128, 88  # the driving video's aspect: 64/96 * 128 = 85.3 -> 88
    assert out["parts"].shape == (FRAMES, h, w) and out["parts"].chunks == (8, h, w)
    assert out["rgb"].shape == (FRAMES, h, w, 3) and out["rgb"].chunks == (8, h, w, 3)
    assert out["reference"].shape == (h, w, 3) and out["joints2d"].shape == (FRAMES, 24, 2)
    attrs = out.attrs
    assert attrs["size"] == [h, w] and attrs["fps"] == 30
    top, right, bottom, left = attrs["face_box"]
    assert np.allclose(attrs["face_box_reference"], [83, 266, 170, 179], atol=4)
    # the photo fills the height (scale 1/4), cropped at the sides around the face
    assert abs((left + right) / 2 - w / 2) <= 12 and abs(bottom - 170 / 4) <= 1
    assert attrs["photo_box"] == [0, w, h, 0] and attrs["other_faces"] == []
    parts = out["parts"][:]
    assert parts.max() <= 24 and set(np.unique(parts)) <= {0, 2, 23, 24}
    # Frame 5 is the median head position: its head is centred on the face box horizontally
    # and spans head_to_face face heights from the crown.
    rows, cols = np.nonzero(np.isin(parts[5], (23, 24)))
    face = bottom - top
    assert abs((cols.min() + cols.max() + 1) / 2 - (left + right) / 2) <= 1.5
    assert abs((rows.max() + 1 - rows.min()) - 1.7 * face) <= 1.5
    assert abs(rows.min() - (top - 0.7 * face)) <= 1.5
    # joints2d follow the same transform: the head joint sits inside the warped head.
    x, y = out["joints2d"][5, 15]
    assert parts[5, int(y), int(x)] in (23, 24)
    assert tuple(out["rgb"][0, 0, 0]) == (68, 1, 84)


def test_photo_without_face_is_refused(tmp_path):
    with pytest.raises(InputError, match="no face"):
        _run(tmp_path, np.full((128, 128, 3), 90, np.uint8))


def test_portrait_driving_gives_a_9_16_output_with_the_photo_unsquashed(tmp_path):
    out = _run(tmp_path, data.astronaut(), driving=(96, 54))  # render.aspect=portrait's frame
    h, w = out.attrs["size"]
    assert (h, w) == (128, 72) and abs(w / h - 9 / 16) < 1e-9
    assert out["reference"].shape == (128, 72, 3) and out["parts"].shape[1:] == (128, 72)
    top, right, bottom, left = out.attrs["face_box"]
    t, r, b, lf = out.attrs["face_box_reference"]
    assert abs((right - left) / (bottom - top) - (r - lf) / (b - t)) < 0.05  # same face shape
    assert abs((bottom - top) - (b - t) / 4) <= 1  # 512 -> 128 rows: scale 1/4
    assert out.attrs["photo_box"] == [0, 72, 128, 0]  # the sides were cropped, none filled
    # the photo around the crop, at the same scale, stays readable (an arm the crop cuts)
    context, left = out["context"][:], out.attrs["context_left"]
    assert context.shape == (128, 128, 3) and 0 < left <= 128 - 72
    assert np.array_equal(context[:, left : left + 72], out["reference"][:])


def test_a_panoramas_context_reaches_a_canvas_height_beside_the_crop(tmp_path):
    """Arms reach about a body height at most: a 4:1 panorama keeps that much beside the crop,
    not its far ends (the animator's time grows with the context's width)."""
    panorama = np.pad(data.astronaut(), ((0, 0), (768, 768), (0, 0)), mode="reflect")
    out = _run(tmp_path, panorama, driving=(96, 54))
    context, left = out["context"][:], out.attrs["context_left"]
    assert context.shape == (128, 72 + 2 * 128, 3) and left == 128
    assert np.array_equal(context[:, left : left + 72], out["reference"][:])


def test_an_uncropped_photo_has_no_context(tmp_path):
    out = _run(tmp_path, data.astronaut()[:, 128:384], driving=(64, 64))  # narrow: filled sides
    assert "context" not in out and "context_left" not in out.attrs


def test_narrow_photo_on_a_square_output_marks_the_sides_to_fill(tmp_path):
    out = _run(tmp_path, data.astronaut()[:, 128:384], driving=(64, 64))
    top, right, bottom, left = out.attrs["photo_box"]
    assert (top, bottom) == (0, 128) and right - left == 64 and out.attrs["size"] == [128, 128]


def _two_people() -> np.ndarray:
    """The astronaut's head at 1.5x on the left and at 1x on the right of a grey photo."""
    crop = data.astronaut()[40:260, 120:320]
    photo = np.full((480, 720, 3), 200, np.uint8)
    photo[10:340, 10:310] = cv2.resize(crop, (300, 330), interpolation=cv2.INTER_CUBIC)
    photo[60:280, 400:600] = crop
    return photo


def test_two_people_one_warning_and_the_index_picks_the_other(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="music2dance"):
        out = _run(tmp_path, _two_people(), driving=(64, 96))  # landscape: both stay in frame
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("2 people in ") and "align.person=N" in warning
    assert out.attrs["face_box"][1] < 64 and out.attrs["other_faces"][0][3] > 64
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="music2dance"):
        out = _run(tmp_path, _two_people(), driving=(64, 96), person=2)
    assert not caplog.records
    assert out.attrs["face_box"][3] > 64 and out.attrs["other_faces"][0][1] < 64


def test_a_portrait_crop_keeps_the_other_persons_face_in_the_context(tmp_path):
    """The crop around the chosen face leaves the other person out of the canvas; the context
    (what the cut-out reads) still shows them, so their face box is kept in its pixels."""
    out = _run(tmp_path, _two_people(), driving=(96, 54))  # portrait: the sides are cropped
    assert out.attrs["other_faces"] == []  # outside the 72 px canvas
    (other,) = out.attrs["context_faces"]
    left = out.attrs["context_left"]
    top, right, bottom, box_left = other
    assert box_left > left + 72 and right <= out["context"].shape[1]  # right of the canvas
    x = (box_left + right) // 2
    assert abs(int(out["context"][(top + bottom) // 2, x].astype(int).mean()) - 200) > 10  # a face
