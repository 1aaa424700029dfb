"""Third-party noise off unless -v.

mediapipe's TensorFlow Lite and absl write from C++ straight to file descriptor 2, past Python's
logging and untouched by TF_CPP_MIN_LOG_LEVEL or GLOG_minloglevel, five lines per run. While a
command runs, descriptor 2 is a pipe whose reader drops those lines and passes everything else
on, in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator

# A noise line, wherever it starts: after a progress bar's unfinished line it is not at column 0.
NATIVE_NOISE = re.compile(
    rb"(INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|[IWE]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\] )[^\n]*\n"
)
# TensorFlow Lite writes its line in three pieces ("INFO: ", the message, "\n"): an unfinished
# line from one of these on is held back until its newline tells whether it is noise.
PIECEWISE_NOISE = (b"INFO: ", b"WARNING: ", b"ERROR: ")
_TERMINAL: list[bool] = []  # per filtered block: whether descriptor 2 was a terminal before it
NOISY_LOGGERS = ("absl", "numba", "matplotlib", "PIL", "h5py", "fsspec", "botocore", "urllib3")


def quiet_loggers() -> None:
    """Python loggers of libraries that chat at INFO/WARNING: errors only."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _held_from(text: bytes) -> int:
    """Where the unfinished last line may start a noise line still being written (len(text):
    nowhere). A progress bar's line never ends in a piece of "INFO: ", so it is not held."""
    for i in range(text.rfind(b"\n") + 1, len(text)):
        rest = text[i:]
        if any(rest.startswith(p) or p.startswith(rest) for p in PIECEWISE_NOISE):
            return i
    return len(text)


def without_noise(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """What to forward for each chunk read: less whole noise lines, and less an unfinished line
    that may still become one (forwarded with the next chunk if it does not)."""
    held = b""
    for chunk in chunks:
        text = NATIVE_NOISE.sub(b"", held + chunk)
        cut = _held_from(text)
        held = text[cut:]
        yield text[:cut]
    yield held


def _pump(source: int, target: int) -> None:
    """Forward what arrives at once, less noise: a progress bar's `\r` updates are not held
    back until a newline; only a possible noise line's start is."""

    def reads() -> Iterator[bytes]:
        while chunk := os.read(source, 1 << 16):
            yield chunk

    with contextlib.suppress(OSError):  # the target closed
        for text in without_noise(reads()):
            os.write(target, text)
    os.close(source)


def stderr_is_terminal() -> bool:
    """Whether the user's stderr is a terminal (while filtered, descriptor 2 itself is a pipe)."""
    return _TERMINAL[-1] if _TERMINAL else os.isatty(2)


@contextlib.contextmanager
def native_noise_filtered() -> Iterator[None]:
    """Descriptor 2 through a filter for the block; restored (and drained) afterwards."""
    sys.stderr.flush()
    _TERMINAL.append(os.isatty(2))
    saved = os.dup(2)
    source, sink = os.pipe()
    os.dup2(sink, 2)
    os.close(sink)
    pump = threading.Thread(target=_pump, args=(source, saved), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last writer in this process closes: the pump sees EOF
        pump.join(timeout=5)  # a child still holding the pipe must not hang the exit
        os.close(saved)
        _TERMINAL.pop()
