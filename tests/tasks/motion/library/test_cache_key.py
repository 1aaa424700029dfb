"""The motion stage's key follows the bundled library's content when motion.library is null."""

import dataclasses
from pathlib import Path

from flows.dag import weight_fingerprints
from tasks.motion.library.clips import BUNDLED
from tasks.motion.task import SPEC


def _spec_with_bundled(path: Path):
    library = dataclasses.replace(SPEC.params["library"], bundled=path)
    return dataclasses.replace(SPEC, params={**SPEC.params, "library": library})


def test_the_bundled_library_is_part_of_the_key(tmp_path: Path):
    assert SPEC.params["library"].bundled == BUNDLED
    params = {key: None for key in SPEC.params}
    bundled = tmp_path / "cmu_dance.npz"
    bundled.write_bytes(b"library one")
    first = weight_fingerprints("motion", _spec_with_bundled(bundled), params)
    bundled.write_bytes(b"library two, rebuilt")
    second = weight_fingerprints("motion", _spec_with_bundled(bundled), params)
    assert set(first) == {"motion.library"} and first != second


def test_a_user_library_replaces_the_bundled_digest(tmp_path: Path):
    mine = tmp_path / "mine.npz"
    mine.write_bytes(b"my dances")
    params = {key: None for key in SPEC.params} | {"library": str(mine)}
    bundled = weight_fingerprints("motion", SPEC, {key: None for key in SPEC.params})
    assert weight_fingerprints("motion", SPEC, params) != bundled
