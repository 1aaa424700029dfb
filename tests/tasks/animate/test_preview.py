"""The preview animator and the animate stage end to end on in-memory groups."""

import numpy as np
import pytest
import zarr

from tasks.animate.preview import labelled_reference, side_by_side
from tasks.animate.task import SPEC
from tasks.animate.video import probe_video
from tasks.audio.synth import synth_music, write_wav
from tasks.base import InputError, StageContext
from tests.stage_params import stage_params

SR = 22050
FRAMES, H, W = 30, 64, 48  # 1.0 s at 30 fps


def _reference() -> np.ndarray:
    ramp = np.linspace(0, 255, W, dtype=np.uint8)
    return np.stack([np.tile(ramp, (H, 1))] * 3, axis=-1)


def test_label_marks_only_a_small_corner():
    reference = _reference()
    changed = np.any(labelled_reference(reference) != reference, axis=-1)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 20  # the label is drawn
    assert rows.max() < H // 3 and cols.min() < W // 4  # ... in the top-left corner


def test_side_by_side_puts_reference_left_and_driving_right():
    driving = np.random.default_rng(0).integers(0, 255, (3, H, W, 3), dtype=np.uint8)
    frames = side_by_side(_reference(), driving)
    assert frames.shape == (3, H, 2 * W, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames[:, :, :W], np.broadcast_to(_reference(), (3, H, W, 3)))
    np.testing.assert_array_equal(frames[:, :, W:], driving)
    with pytest.raises(ValueError, match="do not match"):
        side_by_side(_reference(), driving[:, :, :-8])


def _upstream() -> dict[str, zarr.Group]:
    align = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    rgb = np.zeros((FRAMES, H, W, 3), np.uint8)
    rgb[...] = (68, 1, 84)
    for i in range(FRAMES):  # a yellow "head" moving down
        rgb[i, i : i + 10, 20:30] = (253, 231, 37)
    align.create_array("rgb", data=rgb, chunks=(8, H, W, 3))
    align.create_array("reference", data=_reference())
    align.attrs["fps"] = 30
    audio = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    audio.attrs.update({"fps": 30, "num_frames": FRAMES, "duration": 1.0})
    return {"align": align, "audio": audio}


def _context(tmp_path, audio_path) -> StageContext:
    params = stage_params("animate", model="preview")
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    return StageContext(
        params=params, upstream=_upstream(), out=out, workdir=tmp_path, audio_path=audio_path
    )


def test_stage_writes_frames_and_an_mp4_with_the_music(tmp_path):
    audio = tmp_path / "clip.wav"
    write_wav(audio, synth_music(seconds=1.0, bpm=120, seed=0, sample_rate=SR), SR)
    ctx = _context(tmp_path, audio)
    SPEC.compute(ctx)
    frames = ctx.out["frames"]
    assert frames.shape == (FRAMES, H, 2 * W, 3) and frames.chunks == (8, H, 2 * W, 3)
    assert np.abs(frames[0].astype(int) - frames[FRAMES // 2].astype(int)).mean() > 1.0
    assert ctx.out.attrs["fps"] == 30 and ctx.out.attrs["model"] == "preview"
    info = probe_video(tmp_path / "video.mp4")
    assert info["video_streams"] == 1 and info["audio_streams"] == 1
    assert abs(info["duration"] - 1.0) <= 1 / 30 and info["num_frames"] == FRAMES
    assert (info["width"], info["height"]) == (2 * W, H)


def test_stage_needs_audio(tmp_path):
    with pytest.raises(InputError, match="audio"):
        SPEC.compute(_context(tmp_path, None))


def test_params_reject_unknown_model_and_bad_crf():
    with pytest.raises(InputError, match="one of"):
        SPEC.params["model"].check("animate.model", "sora")
    with pytest.raises(InputError, match="maximum"):
        SPEC.params["crf"].check("animate.crf", 52)
