"""Compile the audio stage's numba kernels once, at install (`python -m tasks.audio.precompile`).

librosa compiles its numba kernels when they are first imported or called and keeps them in
numba's cache beside its sources in the environment (`cache=True`). On a fresh install the first
run's audio stage would spend ~25 s of 2 cores compiling; `make setup` runs this module once so
that run loads them instead. (librosa declares one beat kernel, `__beat_local_score`, with
cache=False: every process compiles it, about 1 s.)
"""

from __future__ import annotations

import logging
import time

from tasks.audio.features import SAMPLE_RATE, extract_features
from tasks.audio.synth import synth_music

log = logging.getLogger("music2dance")


def precompile() -> float:
    """Seconds spent running the audio features once on 3 s of synthesized music."""
    start = time.perf_counter()
    extract_features(synth_music(seconds=3.0, bpm=120, seed=0, sample_rate=SAMPLE_RATE))
    return time.perf_counter() - start


if __name__ == "__main__":
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    log.info("audio kernels ready in %.1f s", precompile())
