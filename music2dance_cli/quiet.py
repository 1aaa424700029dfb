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
from collections.abc import Iterator

# A noise line, wherever it starts: after a progress bar's unfinished line it is not at column 0.
NATIVE_NOISE = re.compile(
    rb"(INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|[IWE]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\] )[^\n]*\n"
)
_TERMINAL: list[bool] = []  # per filtered block: whether descriptor 2 was a terminal before it
NOISY_LOGGERS = ("absl", "numba", "matplotlib", "PIL", "h5py", "fsspec", "botocore", "urllib3")


def quiet_loggers() -> None:
    """Python loggers of libraries that chat at INFO/WARNING: errors only."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _pump(source: int, target: int) -> None:
    """Forward what arrives at once, less whole noise lines: a progress bar's `\r` updates
    are not held back until a newline (the libraries write each noise line in one piece)."""
    with contextlib.suppress(OSError):  # the target closed
        while chunk := os.read(source, 1 << 16):
            os.write(target, NATIVE_NOISE.sub(b"", chunk))
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
