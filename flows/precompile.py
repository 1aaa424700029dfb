"""Compile every numba kernel a default run uses, once, at install: `python -m flows.precompile`.

Numba keeps a compiled kernel beside its source (`cache=True`): librosa's in the environment, the
rasterizer's and the cutout's in this checkout's __pycache__. Without this step a fresh install
or clone compiles them during its first run (librosa's alone take ~25 s of 2 cores, in the audio
stage). `make setup` runs this module: the default pipeline on 3 s of music at 128 px, in a
temporary store and in this process (no Prefect). Kernels compile per argument type, not size,
so the small run compiles what a full one needs. (librosa compiles one beat kernel,
`__beat_local_score`, in every process: it is declared cache=False.)
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from flows.execute import run_plan, run_stages_here
from flows.plan import plan_run

SMALL = ["render.resolution=128", "align.resolution=128"]

log = logging.getLogger("music2dance")


def precompile() -> float:
    """Seconds the small default run took (its store is deleted)."""
    from PIL import Image
    from skimage import data

    from tasks.audio.synth import synth_music, write_wav

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="m2d-precompile-") as tmp:
        audio, image = Path(tmp) / "music.wav", Path(tmp) / "astronaut.png"
        write_wav(audio, synth_music(seconds=3.0, bpm=112, seed=0, sample_rate=44100), 44100)
        Image.fromarray(data.astronaut()).save(image)
        run_plan(plan_run(audio, image, SMALL, Path(tmp) / "store"), runner=run_stages_here)
    return time.perf_counter() - start


if __name__ == "__main__":
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    log.info("numba kernels compiled and cached in %.0f s", precompile())
