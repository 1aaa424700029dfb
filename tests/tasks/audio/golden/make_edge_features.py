"""Regenerate `edge_features.npz` by running EDGE's OFFICIAL slicing and feature code.

Not imported by the tests. Needs a checkout of Stanford-TML/EDGE at 17c3428 outside this
repository (only `data/slice.py` and `data/audio_extraction/baseline_features.py` are used):

    PYTHONPATH=/tmp/edge_official .venv/bin/python tests/tasks/audio/golden/make_edge_features.py

The songs are synthesized here (`songs()`, shared with the test) and written as 16-bit WAVs; the
official `slice_audio` cuts them into 5 s slices at 2.5 s stride (as EDGE's test.py does) and
`baseline_features.extract` computes each slice's (150, 35) features.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))

from data.audio_extraction.baseline_features import extract  # noqa: E402
from data.slice import slice_audio  # noqa: E402

from tests.tasks.audio.edge_songs import SONGS, write_song  # noqa: E402


def official_windows(wav: Path, out_dir: Path) -> np.ndarray:
    count = slice_audio(str(wav), 2.5, 5.0, str(out_dir))
    return np.stack([extract(str(out_dir / f"{wav.stem}_slice{k}.wav"))[0] for k in range(count)])


def main() -> None:
    arrays = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SONGS:
            wav = write_song(name, Path(tmp))
            arrays[f"{name}/sha256"] = np.frombuffer(
                hashlib.sha256(wav.read_bytes()).hexdigest().encode(), np.uint8
            )
            slices = Path(tmp) / f"{name}_sliced"
            slices.mkdir()
            arrays[f"{name}/windows"] = official_windows(wav, slices)
    np.savez_compressed(HERE / "edge_features.npz", **arrays)


if __name__ == "__main__":
    main()
