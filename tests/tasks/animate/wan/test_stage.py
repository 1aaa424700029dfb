"""The animate stage with animate.model=wan-animate, end to end on a tiny random pipeline."""

import logging

import numpy as np
import pytest
import zarr

from tasks.animate.task import SPEC
from tasks.animate.video import probe_video
from tasks.animate.wan.face import face_frame, face_window
from tasks.animate.wan.loading import resolve_weights
from tasks.audio.synth import synth_music, write_wav
from tasks.base import InputError, StageContext
from tests.stage_params import stage_params
from tests.tasks.animate.wan.test_retarget import STAND
from tests.tasks.animate.wan.wan_tiny import FACE_SIZE, save_tiny_weights

FRAMES, SIZE = 12, 16  # two segments of 9 frames carrying 1 (the second one padded)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_weights(tmp_path_factory.mktemp("wan") / "Wan2.2-Animate-14B-Diffusers")


def _upstream() -> dict[str, zarr.Group]:
    align = zarr.group()
    reference = np.zeros((SIZE, SIZE, 3), np.uint8)
    reference[2:6, 6:10] = (230, 180, 150)  # a face
    align.create_array("reference", data=reference)
    align.create_array("rgb", data=np.zeros((FRAMES, SIZE, SIZE, 3), np.uint8))
    align.attrs.update(
        {"face_box": [2, 10, 6, 6], "transform": [[1, 0, 0], [0, 1, 0]], "fps": 30,
         "photo_box": [0, SIZE, SIZE, 0], "other_faces": []}
    )  # fmt: skip
    render = zarr.group()
    keypoints = np.repeat(np.c_[STAND / 32, np.ones(20)][None], FRAMES, axis=0)
    keypoints[:, [4, 7], 1] -= np.linspace(0, 5, FRAMES)[:, None]  # hands go up
    render.create_array("keypoints", data=keypoints.astype(np.float32))
    render.attrs.update({"height": SIZE, "width": SIZE})
    audio = zarr.group()
    audio.attrs.update({"fps": 30, "num_frames": FRAMES})
    return {"align": align, "render": render, "audio": audio}


def _context(tmp_path, weights) -> StageContext:
    song = tmp_path / "song.wav"
    write_wav(song, synth_music(1.0, bpm=120, seed=0, sample_rate=22050), 22050)
    params = stage_params(
        "animate", model="wan-animate", weights=weights and str(weights), wan_steps=1,
        wan_segment=9, wan_carry=1,
    )  # fmt: skip
    return StageContext(
        params=params, upstream=_upstream(), out=zarr.group(), workdir=tmp_path,
        audio_path=song, log=logging.getLogger("test"),
    )  # fmt: skip


def test_stage_writes_every_frame_of_a_clip_longer_than_a_segment(tmp_path, weights):
    ctx = _context(tmp_path, weights)
    SPEC.check_model(ctx.params)  # the pre-run check passes on the release layout
    SPEC.compute(ctx)
    frames = ctx.out["frames"]
    assert frames.shape == (FRAMES, SIZE, SIZE, 3) and frames.dtype == np.uint8
    assert frames[:].std() > 0  # decoded, not a blank canvas
    assert probe_video(tmp_path / "video.mp4")["num_frames"] == FRAMES
    assert ctx.out.attrs["model"] == "wan-animate"


def test_missing_weights_give_one_clear_error(tmp_path, weights):
    params = _context(tmp_path, None).params
    with pytest.raises(InputError, match=r"animate\.weights=PATH") as err:
        SPEC.check_model(params)
    assert "Wan2.2-Animate" in str(err.value) and "\n" not in str(err.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{}")
    with pytest.raises(InputError, match=r"animate\.weights=.*lacks transformer/config\.json"):
        SPEC.check_model(_context(tmp_path, broken).params)
    with pytest.raises(InputError, match=r"lacks transformer/config\.json"):
        resolve_weights(broken)


# (face box [top, right, bottom, left], image (H, W)) -> Wan2.2's get_face_bboxes(scale=1.3) of
# the box's corners (x0, x1, y0, y1), from running the official utils.py outside this repo.
OFFICIAL_FACE_WINDOWS = [
    (([100, 160, 180, 100], (400, 400)), (95, 164, 91, 182)),
    (([1000, 1600, 1800, 1000], (4000, 4000)), (957, 1642, 915, 1828)),
    (([37, 211, 251, 19], (512, 288)), (5, 224, 14, 258)),
    (([2, 60, 60, 2], (50, 50)), (0, 50, 0, 50)),
    (([300, 700, 760, 260], (1280, 720)), (229, 720, 251, 776)),
]


@pytest.mark.parametrize(("args", "official"), OFFICIAL_FACE_WINDOWS)
def test_face_crop_is_the_official_crop(args, official):
    assert face_window(*args) == official
    image = np.zeros((*args[1], 3), np.uint8)
    assert face_frame(image, args[0], FACE_SIZE).shape == (FACE_SIZE, FACE_SIZE, 3)
