"""Decoding and the one-line input errors: ffmpeg only, no librosa, so these run in milliseconds."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tasks.audio.decode import PREFLIGHT_SAMPLE_RATE, load_audio, validate_audio
from tasks.audio.synth import synth_music, write_wav
from tasks.base import InputError
from tests.stage_params import stage_params

SR = 22050
LIMITS = {k: stage_params("audio")[k] for k in ("min_seconds", "max_seconds")}
PREFLIGHT = LIMITS | {"sample_rate": PREFLIGHT_SAMPLE_RATE}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    write_wav(path, synth_music(seconds=3.0, bpm=120, seed=0, sample_rate=SR), SR)
    return path


def test_wav_decodes_to_mono_float32_at_the_requested_rate(clip):
    samples = load_audio(clip, 15360)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.size == 3 * 15360
    assert 0.5 < np.abs(samples).max() <= 1.0
    assert validate_audio(clip, **PREFLIGHT) == pytest.approx(3.0, abs=1e-3)


def test_compressed_formats_decode_through_ffmpeg(clip, tmp_path):
    import ffmpeg
    import imageio_ffmpeg

    flac = tmp_path / "clip.flac"
    ffmpeg.input(str(clip)).output(str(flac)).run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), quiet=True)
    assert np.allclose(load_audio(flac, 15360), load_audio(clip, 15360), atol=1e-4)


def _bad_inputs(root: Path, clip: Path) -> dict[str, tuple[Path, str]]:
    (root / "notes.txt").write_text("not music at all\n" * 50)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "photo.png")
    (root / "random.mp3").write_bytes(np.random.default_rng(0).bytes(20000))
    full = clip.read_bytes()
    (root / "truncated.wav").write_bytes(full[: len(full) // 2])
    write_wav(root / "silent.wav", np.zeros(SR * 3, dtype=np.float32), SR)
    write_wav(root / "short.wav", synth_music(1.0, 120, 0, SR), SR)
    return {
        "missing": (root / "nowhere.wav", "not found"),
        "text": (root / "notes.txt", "audio"),
        "image": (root / "photo.png", "audio"),
        "corrupt": (root / "random.mp3", "audio"),
        "truncated": (root / "truncated.wav", "truncated"),
        "silent": (root / "silent.wav", "silent"),
        "short": (root / "short.wav", "at least 2 s"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "text", "image", "corrupt", "truncated", "silent", "short"]
)
def test_bad_audio_raises_one_line_naming_the_problem(case, clip, tmp_path):
    path, needle = _bad_inputs(tmp_path, clip)[case]
    with pytest.raises(InputError) as err:
        validate_audio(path, **PREFLIGHT)
    message = str(err.value)
    assert needle in message and "\n" not in message


def test_length_limits_are_parameters(clip):
    with pytest.raises(InputError, match="longer than 2.5 s"):
        load_audio(clip, 8000, max_seconds=2.5)
    with pytest.raises(InputError, match="at least 4 s"):
        load_audio(clip, 8000, min_seconds=4.0)
    assert load_audio(clip, 8000, min_seconds=1.0, max_seconds=3.5).size == 3 * 8000
