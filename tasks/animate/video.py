"""H.264 + AAC mp4 writing and probing with the ffmpeg binary shipped by imageio-ffmpeg.

There is no ffprobe binary in imageio-ffmpeg, so `probe_video` parses `ffmpeg -i` output.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import ffmpeg
import imageio_ffmpeg
import numpy as np


def _ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


class VideoWriter:
    """Stream (N, h, w, 3) uint8 RGB frames into `path` as H.264 yuv420p with the music muxed.

    The music is AAC, padded with silence and cut to exactly `num_frames / fps` seconds, so all
    frames are kept and with num_frames = round(duration * fps) the file lasts the audio's
    duration within half a frame (`-shortest` alone drops the last frame or overshoots). The mp4
    appears at `path` only when the context exits cleanly (written to a hidden temp name, then
    renamed).
    """

    def __init__(
        self,
        path: Path,
        *,
        size: tuple[int, int],
        num_frames: int,
        fps: float,
        audio_path: Path,
        crf: int,
        preset: str = "veryfast",
    ) -> None:
        height, width = size
        if height % 2 or width % 2:
            raise ValueError(f"H.264 yuv420p needs even frame sizes, got {height}x{width}")
        self.path = Path(path)
        self.size = (height, width)
        self.num_frames = num_frames
        self.frames_written = 0
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        video = ffmpeg.input(
            "pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps
        )
        audio = ffmpeg.input(str(audio_path))
        stream = ffmpeg.output(
            video.video,
            audio.audio.filter("apad"),
            str(self._tmp),
            format="mp4",
            vcodec="libx264",
            pix_fmt="yuv420p",
            crf=crf,
            preset=preset,
            acodec="aac",
            t=f"{num_frames / fps:.6f}",
            movflags="+faststart",
        )
        stream = stream.global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        self._args = stream.overwrite_output().compile(cmd=_ffmpeg_exe())
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> VideoWriter:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._proc = subprocess.Popen(self._args, stdin=subprocess.PIPE, stderr=self._stderr)
        return self

    def write(self, frames: np.ndarray) -> None:
        """Append (N, h, w, 3) or (h, w, 3) uint8 RGB frames."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.shape[1:] != (*self.size, 3):
            raise ValueError(
                f"frames must be uint8 (N, {self.size[0]}, {self.size[1]}, 3), "
                f"got {frames.dtype} {frames.shape}"
            )
        try:
            self._proc.stdin.write(np.ascontiguousarray(frames).tobytes())
        except BrokenPipeError as err:
            self._proc.wait()
            raise RuntimeError(f"ffmpeg stopped early: {self._error_text()}") from err
        self.frames_written += len(frames)

    def _error_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                self._proc.kill()
                self._proc.wait()
                return
            self._proc.stdin.close()
            if self.frames_written != self.num_frames:
                self._proc.wait()
                raise RuntimeError(
                    f"wrote {self.frames_written} frames to {self.path}, expected {self.num_frames}"
                )
            if self._proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed writing {self.path}: {self._error_text()}")
            os.replace(self._tmp, self.path)
        finally:
            self._stderr.close()
            self._tmp.unlink(missing_ok=True)


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+\S*: (Video|Audio|Subtitle|Data): (\w+)(.*)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


def probe_video(path: Path) -> dict:
    """Streams, duration (s) and video frame count of a media file, from `ffmpeg -i` output.

    Returns keys: duration, video_streams, audio_streams, streams (list of {type, codec,
    details}), num_frames, and for the first video stream width, height, fps, pix_fmt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    # Copying the video stream into the null muxer counts frames without decoding them.
    args = [_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    args += ["-map", "0:v:0?", "-c", "copy", "-f", "null", "-"]
    text = subprocess.run(args, capture_output=True, text=True, check=False).stderr
    duration = _DURATION.search(text)
    if duration is None:
        raise ValueError(f"{path} is not a readable media file: {text.strip()[-300:]}")
    hours, minutes, seconds = duration.groups()
    streams = [
        {"type": kind.lower(), "codec": codec, "details": details.strip(", ")}
        for kind, codec, details in _STREAM.findall(text.split("Stream mapping:")[0])
    ]
    info: dict = {
        "duration": int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        "video_streams": sum(s["type"] == "video" for s in streams),
        "audio_streams": sum(s["type"] == "audio" for s in streams),
        "streams": streams,
        "num_frames": int(_FRAMES.findall(text)[-1]) if _FRAMES.search(text) else 0,
    }
    video = next((s for s in streams if s["type"] == "video"), None)
    if video is not None:
        size = re.search(r"(\d{2,5})x(\d{2,5})", video["details"])
        fps = re.search(r"([\d.]+) fps", video["details"])
        pix_fmt = re.match(r"[^,]*?,\s*(\w+)", video["details"])
        info.update(
            width=int(size.group(1)) if size else None,
            height=int(size.group(2)) if size else None,
            fps=float(fps.group(1)) if fps else None,
            pix_fmt=pix_fmt.group(1) if pix_fmt else None,
        )
    return info
