import json
import os

import numpy as np
import pytest

from artifacts.keys import canonical_json, key_ingredients, stage_key
from artifacts.store import MANIFEST, Store


def _write(store: Store, key: str, value: float = 1.0) -> None:
    with store.staging("motion", key) as (tmp, group):
        arr = group.create_array("x", shape=(16, 4), chunks=(4, 4), dtype="float32")
        arr[:] = np.full((16, 4), value, dtype="float32")
        group.attrs["lineage"] = {"stage": "motion", "key": key}
        store.publish(tmp, "motion", key)


def _key(**params) -> str:
    return stage_key(key_ingredients("motion", 1, params, {"audio": "ab"}, {"audio": "cd"}))


def test_key_depends_on_every_ingredient_and_not_on_dict_order():
    base = key_ingredients("motion", 1, {"a": 1, "b": 2}, {"audio": "x"}, {"audio": "k"})
    same = key_ingredients("motion", 1, {"b": 2, "a": 1}, {"audio": "x"}, {"audio": "k"})
    assert stage_key(base) == stage_key(same)
    variants = [
        key_ingredients("render", 1, {"a": 1, "b": 2}, {"audio": "x"}, {"audio": "k"}),
        key_ingredients("motion", 2, {"a": 1, "b": 2}, {"audio": "x"}, {"audio": "k"}),
        key_ingredients("motion", 1, {"a": 1, "b": 3}, {"audio": "x"}, {"audio": "k"}),
        key_ingredients("motion", 1, {"a": 1, "b": 2}, {"audio": "y"}, {"audio": "k"}),
        key_ingredients("motion", 1, {"a": 1, "b": 2}, {"audio": "x"}, {"audio": "j"}),
    ]
    keys = {stage_key(v) for v in variants}
    assert len(keys) == len(variants) and stage_key(base) not in keys
    assert canonical_json({"b": 1.5, "a": [1, None]}) == '{"a":[1,null],"b":1.5}'


def test_publish_is_atomic_and_readable(tmp_path):
    store = Store(tmp_path)
    key = _key(seed=0)
    assert not store.has("motion", key)
    _write(store, key)
    assert store.has("motion", key)
    assert float(store.open("motion", key)["x"][3, 2]) == 1.0
    assert not list((tmp_path / "staging").iterdir())


def test_failed_compute_leaves_nothing(tmp_path):
    store = Store(tmp_path)
    key = _key(seed=1)
    with pytest.raises(RuntimeError), store.staging("motion", key) as (_, group):
        group.create_array("x", shape=(4,), dtype="float32")
        raise RuntimeError("crash mid-stage")
    assert not store.has("motion", key)
    assert list(store.records()) == []
    assert not list((tmp_path / "staging").iterdir())


def test_second_producer_of_a_key_keeps_one_artifact(tmp_path):
    store = Store(tmp_path)
    key = _key(seed=2)
    _write(store, key, 1.0)
    _write(store, key, 2.0)  # loses the race: its copy is discarded, no error
    assert [k for _, k, _ in store.records()] == [key]
    assert float(store.open("motion", key)["x"][0, 0]) == 1.0


def test_verify_finds_truncated_and_altered_chunks_and_evicts(tmp_path):
    store = Store(tmp_path)
    good, cut, altered = _key(seed=3), _key(seed=4), _key(seed=5)
    for key in (good, cut, altered):
        _write(store, key)
    chunk = sorted(p for p in store.path("motion", cut).rglob("*") if p.parent.name == "0")[0]
    chunk.write_bytes(chunk.read_bytes()[:3])
    manifest = json.loads((store.path("motion", altered) / MANIFEST).read_text())
    name = next(n for n in manifest["files"] if n.startswith("x/c/"))
    data = bytearray((store.path("motion", altered) / name).read_bytes())
    data[-1] ^= 0xFF
    (store.path("motion", altered) / name).write_bytes(bytes(data))

    problems = {p.key: p.reason for p in store.verify(evict=True)}
    assert set(problems) == {cut, altered}
    assert problems[cut].startswith("truncated") and problems[altered].startswith("altered")
    assert store.has("motion", good) and not store.has("motion", cut)
    assert store.verify() == []


def test_gc_removes_staging_of_dead_writers_only(tmp_path):
    store = Store(tmp_path)
    dead = tmp_path / "staging" / f"motion-{'a' * 16}-999999999-deadbeef"
    alive = tmp_path / "staging" / f"motion-{'b' * 16}-{os.getpid()}-cafecafe"
    dead.mkdir(parents=True)
    alive.mkdir(parents=True)
    removed = store.gc()
    assert not dead.exists() and alive.exists() and len(removed) == 1


def test_addresses_cannot_escape_the_root(tmp_path):
    store = Store(tmp_path)
    for stage, key in [("../x", "a" * 64), ("motion", "../" + "a" * 61), ("motion", "short")]:
        with pytest.raises(ValueError):
            store.path(stage, key)
