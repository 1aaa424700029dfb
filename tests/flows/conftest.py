"""Small real inputs for the end-to-end tests: a 3 s synthesized clip and the astronaut photo."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tasks.audio.synth import synth_music, write_wav

SR = 22050
# Small frames keep the whole-flow tests fast; the stages' own tests cover full size.
FAST = ["--set", "render.resolution=128", "--set", "align.resolution=128"]


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    audio = root / "clip.wav"
    write_wav(audio, synth_music(seconds=3.0, bpm=120, seed=0, sample_rate=SR), SR)
    image = root / "astronaut.png"
    Image.fromarray(data.astronaut()).save(image)
    flipped = root / "astronaut_flipped.png"
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:, ::-1])).save(flipped)
    return {"audio": audio, "image": image, "image2": flipped, "root": root}
