"""`audio.features=edge`: EDGE's per-slice baseline features against the official code's numbers.

`golden/edge_features.npz` was made by running EDGE's own `data/slice.py` and
`baseline_features.extract` on the same synthesized WAVs (recipe: `golden/make_edge_features.py`).
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import zarr

from tasks.audio.edge_features import aist_tempo, edge_windows_of_file, slice_starts
from tasks.audio.task import SPEC
from tasks.base import StageContext
from tests.tasks.audio.edge_songs import SONGS, write_song

GOLDEN = Path(__file__).parent / "golden" / "edge_features.npz"


@pytest.mark.parametrize("name", sorted(SONGS))
def test_windows_equal_the_official_extract(name: str, tmp_path: Path) -> None:
    with np.load(GOLDEN) as golden:
        official = golden[f"{name}/windows"]
        sha = golden[f"{name}/sha256"].tobytes().decode()
    wav = write_song(name, tmp_path)
    assert hashlib.sha256(wav.read_bytes()).hexdigest() == sha, "the test song changed"
    ours = edge_windows_of_file(wav)
    # the official slicing keeps full slices only; ours adds one padded slice for the tail
    assert len(ours) == len(official) + (SONGS[name][0] % 2.5 > 0)
    np.testing.assert_array_equal(ours[: len(official)], official)


def test_aist_names_carry_their_tempo() -> None:
    assert aist_tempo("gBR_sBM_cAll_d04_mBR0_ch01_slice3") == 80
    assert aist_tempo("gHO_sBM_cAll_d19_mHO5_ch02_slice0") == 135
    assert aist_tempo("my_song_slice0") is None
    assert aist_tempo("a_b_c_d_mXY1_slice0") is None


def test_slices_cover_any_length() -> None:
    sr = 100
    assert slice_starts(500, sr) == [0]  # exactly one 5 s slice
    assert slice_starts(120, sr) == [0]  # shorter than a slice: one padded slice
    assert slice_starts(1000, sr) == [0, 250, 500]
    assert slice_starts(1010, sr) == [0, 250, 500, 750]  # the tail gets a padded slice
    assert slice_starts(1010, sr, num_frames=300) == [0, 250, 500]  # as many as cover 10 s
    assert slice_starts(1010, sr, num_frames=301) == [0, 250, 500, 750]


def test_stage_writes_edge_windows_covering_the_clip(tmp_path: Path) -> None:
    wav = write_song("gBR_sBM_cAll_d04_mBR0_ch01", tmp_path)  # 6 s: 180 frames, 2 windows
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    params = {"min_seconds": 2.0, "max_seconds": 600.0, "features": "edge"}
    SPEC.compute(
        StageContext(params=params, upstream={}, out=out, workdir=tmp_path, audio_path=wav)
    )
    assert out.attrs["features"] == "edge" and out.attrs["num_frames"] == 180
    with np.load(GOLDEN) as golden:
        official = golden["gBR_sBM_cAll_d04_mBR0_ch01/windows"]
    assert out["edge_windows"].shape == (2, 150, 35)
    np.testing.assert_array_equal(out["edge_windows"][:1], official)
