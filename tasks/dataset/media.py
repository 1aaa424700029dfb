"""Bytes of a shard member <-> arrays: PNG, compressed NPZ and H.264 mp4."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from tasks.animate.video import VideoWriter

# Decoding goes through a file (OpenCV reads no memory buffers): RAM-backed where there is one.
_DECODE_DIR = "/dev/shm" if Path("/dev/shm").is_dir() else None


def encode_png(image: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB -> PNG bytes."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as PNG")
    return data.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> (H, W, 3) uint8 RGB."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def encode_npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def decode_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return dict(npz)


def encode_video(
    chunks: Iterable[np.ndarray], *, num_frames: int, fps: float, audio_path: Path, crf: int
) -> bytes:
    """(N, H, W, 3) uint8 chunks -> H.264 mp4 bytes with the music muxed, like the output."""
    chunks = iter(chunks)
    first = next(chunks)
    with tempfile.TemporaryDirectory(prefix="m2d-video-") as folder:
        path = Path(folder) / "video.mp4"
        size = first.shape[1:3]
        with VideoWriter(
            path, size=size, num_frames=num_frames, fps=fps, audio_path=audio_path, crf=crf
        ) as writer:
            writer.write(first)
            for chunk in chunks:
                writer.write(chunk)
        return path.read_bytes()


def decode_video(data: bytes, start: int = 0, count: int | None = None) -> np.ndarray:
    """Frames [start, start + count) of mp4 bytes as (count, H, W, 3) uint8 RGB (all from
    `start` when count is None). Frames before `start` are skipped with `grab` (no conversion),
    which is exact where seeking by position may land on a keyframe."""
    with tempfile.NamedTemporaryFile(suffix=".mp4", dir=_DECODE_DIR) as f:
        f.write(data)
        f.flush()
        capture = cv2.VideoCapture(f.name)
        try:
            for _ in range(start):
                if not capture.grab():
                    raise ValueError(f"the video ends before frame {start}")
            frames = []
            while count is None or len(frames) < count:
                ok, frame = capture.read()
                if not ok:
                    break
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        finally:
            capture.release()
    if count is not None and len(frames) != count:
        raise ValueError(f"the video has {start + len(frames)} frames, fewer than {start + count}")
    return np.stack(frames)
