"""Decode any ffmpeg-readable audio file to mono float32 and reject inputs that cannot make a dance.

Every failure raises `InputError` with one line naming the problem and the fix, so the flow can
run `validate_audio` as a preflight before any stage writes to the store.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from pathlib import Path

import ffmpeg
import imageio_ffmpeg
import numpy as np

from tasks.base import InputError

MIN_RMS = 1e-4  # below this (about -80 dBFS) the clip is treated as silence
PREFLIGHT_SAMPLE_RATE = 8000  # validation only needs durations and loudness
_TRUNCATION_SLACK_S = 0.25  # decoded shorter than declared by more than this -> truncated
_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


def _declared_duration(stderr: str) -> float | None:
    """Seconds from ffmpeg's `Duration: HH:MM:SS.ss` banner line, None when absent or N/A."""
    match = _DURATION_RE.search(stderr)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _wav_header_duration(path: Path) -> float | None:
    """Seconds the RIFF header promises (data chunk size / byte rate), None when not a WAV.

    ffmpeg re-estimates a cut WAV's duration from the file size, so the header is the only place
    where the original length survives.
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = f.read(size + size % 2)
                byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else None
            elif chunk_id == b"data":
                return size / byte_rate if byte_rate else None
            else:
                f.seek(size + size % 2, 1)
    return None


def _decode(path: Path, sample_rate: int, max_seconds: float) -> tuple[np.ndarray, str]:
    """(samples (N,) float32 mono at `sample_rate`, ffmpeg's log); decodes at most max+1 s."""
    limit = {"t": max_seconds + 1.0} if math.isfinite(max_seconds) else {}
    stream = ffmpeg.input(str(path)).output(
        "pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=sample_rate, **limit
    )
    try:
        out, err = stream.global_args("-nostdin", "-hide_banner").run(
            cmd=imageio_ffmpeg.get_ffmpeg_exe(), capture_stdout=True, capture_stderr=True
        )
    except ffmpeg.Error as exc:
        log = exc.stderr.decode(errors="replace")
        if "Audio:" not in log and "Input #0" in log:
            raise InputError(
                f"{path.name} has no audio stream (give a music file: wav, mp3, ogg, flac, m4a)"
            ) from None
        raise InputError(
            f"{path.name} is not a readable audio file (corrupt or unknown format; "
            "re-export it as wav or mp3)"
        ) from None
    log = err.decode(errors="replace")
    if "Audio:" not in log:
        raise InputError(
            f"{path.name} has no audio stream (give a music file: wav, mp3, ogg, flac, m4a)"
        )
    return np.frombuffer(out, dtype=np.float32).copy(), log


def load_audio(
    path: str | Path,
    sample_rate: int,
    *,
    min_seconds: float = 0.0,
    max_seconds: float = math.inf,
) -> np.ndarray:
    """Mono float32 samples (N,) at `sample_rate` Hz, after checking the clip is usable music;
    the length limits are the caller's (the audio stage passes audio.min/max_seconds).
    Memoised on the file's identity (path, size, mtime) for this process, so the planner's
    preflight and the audio stage decode a file once."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"audio file not found: {path} (check the path)")
    stat = path.stat()
    identity = (str(path), stat.st_size, stat.st_mtime_ns)
    return _checked_samples(*identity, sample_rate, min_seconds, max_seconds).copy()


@functools.lru_cache(maxsize=2)
def _checked_samples(
    name: str, size: int, mtime_ns: int, sample_rate: int, min_seconds: float, max_seconds: float
) -> np.ndarray:
    path = Path(name)
    samples, log = _decode(path, sample_rate, max_seconds)
    if samples.size == 0:
        raise InputError(
            f"{path.name} decodes to no audio samples (corrupt file; re-export it as wav or mp3)"
        )
    if not np.isfinite(samples).all():
        raise InputError(
            f"{path.name} holds NaN or infinite samples (a broken float export; re-export it as "
            "16-bit wav or mp3)"
        )
    duration = samples.size / sample_rate
    declared = max(filter(None, (_declared_duration(log), _wav_header_duration(path))), default=0)
    if duration < min(declared, max_seconds) - _TRUNCATION_SLACK_S:
        raise InputError(
            f"{path.name} is truncated: decoded {duration:.2f} s of the declared {declared:.2f} s "
            "(copy or download the file again)"
        )
    if duration > max_seconds:
        raise InputError(
            f"{path.name} is longer than {max_seconds:g} s (cut the clip or raise "
            "audio.max_seconds)"
        )
    if duration < min_seconds:
        raise InputError(
            f"{path.name} is only {duration:.2f} s long: need at least {min_seconds:g} s of music "
            "(use a longer clip or lower audio.min_seconds)"
        )
    if float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < MIN_RMS:
        raise InputError(f"{path.name} is silent (give a clip with audible music)")
    return samples


def validate_audio(
    path: str | Path, *, min_seconds: float, max_seconds: float, sample_rate: int
) -> float:
    """Duration in seconds; a preflight that raises the same `InputError`s as `load_audio`.
    At PREFLIGHT_SAMPLE_RATE it is cheap; at the audio stage's rate the stage reuses it."""
    samples = load_audio(path, sample_rate, min_seconds=min_seconds, max_seconds=max_seconds)
    return samples.size / sample_rate
