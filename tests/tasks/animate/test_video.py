"""H.264 + AAC writing: streams, duration against the audio, frame count, atomic output."""

from pathlib import Path

import numpy as np
import pytest

from tasks.animate.video import VideoWriter, probe_video
from tasks.audio.synth import synth_music, write_wav

SR = 22050


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict[float, Path]:
    root = tmp_path_factory.mktemp("audio")
    paths = {}
    for seconds in (1.0, 1.02):
        paths[seconds] = root / f"clip_{seconds}.wav"
        write_wav(paths[seconds], synth_music(seconds=seconds, bpm=120, seed=0, sample_rate=SR), SR)
    return paths


def _ramp(start: int, num: int, size=(48, 64)) -> np.ndarray:
    frames = np.zeros((num, *size, 3), np.uint8)
    frames[..., 1] = (np.arange(start, start + num) * 7 % 256)[:, None, None]
    return frames


@pytest.mark.parametrize("seconds", [1.0, 1.02])
def test_mp4_has_video_and_music_lasting_the_audio(audio, tmp_path, seconds):
    num = round(seconds * 30)  # 30, 31
    path = tmp_path / "out.mp4"
    with VideoWriter(
        path, size=(48, 64), num_frames=num, fps=30, audio_path=audio[seconds], crf=20
    ) as writer:
        for start in range(0, num, 8):
            writer.write(_ramp(start, min(8, num - start)))
    info = probe_video(path)
    assert info["video_streams"] == 1 and info["audio_streams"] == 1
    assert info["num_frames"] == num
    assert abs(info["duration"] - seconds) <= 1 / 30
    assert (info["width"], info["height"], info["fps"]) == (64, 48, 30.0)
    assert info["pix_fmt"] == "yuv420p"
    assert [s["codec"] for s in info["streams"]] == ["h264", "aac"]
    assert list(tmp_path.iterdir()) == [path]


def test_failure_inside_the_block_leaves_no_file(audio, tmp_path):
    path = tmp_path / "out.mp4"
    with (
        pytest.raises(KeyError),
        VideoWriter(path, size=(48, 64), num_frames=30, fps=30, audio_path=audio[1.0], crf=20) as w,
    ):
        w.write(_ramp(0, 8))
        raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []


def test_wrong_frames_are_refused(audio, tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="even"):
        VideoWriter(path, size=(47, 64), num_frames=30, fps=30, audio_path=audio[1.0], crf=20)
    with (
        pytest.raises(RuntimeError, match="wrote 8 frames"),
        VideoWriter(
            path, size=(48, 64), num_frames=30, fps=30, audio_path=audio[1.0], crf=20
        ) as writer,
    ):
        with pytest.raises(ValueError, match="uint8"):
            writer.write(_ramp(0, 2).astype(np.float32))
        writer.write(_ramp(0, 8))
    assert list(tmp_path.iterdir()) == []


def test_probe_refuses_missing_and_non_media(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "nowhere.mp4")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a readable media file"):
        probe_video(tmp_path / "notes.txt")
