import json
import os

import numpy as np
import pytest

from artifacts.keys import canonical_json, key_ingredients, stage_key
from artifacts.materialize import PlannedStage, materialize
from artifacts.store import MANIFEST, Store
from tasks.base import StageContext, StageSpec


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


def _drop_manifest(store: Store, key: str) -> None:
    """A published folder without its MANIFEST, as a crash or a hand deletion leaves it."""
    _write(store, key)
    (store.path("motion", key) / MANIFEST).unlink()


def test_folder_without_manifest_is_replaced_by_publish_and_evicted_by_verify_and_gc(tmp_path):
    store = Store(tmp_path)
    rebuilt, verified, collected = _key(seed=10), _key(seed=11), _key(seed=12)
    _drop_manifest(store, rebuilt)
    assert list(store.records()) == []  # never read as complete ...
    _write(store, rebuilt, 2.0)  # ... and rebuilt over (was OSError: Directory not empty)
    assert float(store.open("motion", rebuilt)["x"][0, 0]) == 2.0
    assert store.verify_one("motion", rebuilt) is None

    _drop_manifest(store, verified)
    assert [(p.key, p.reason) for p in store.verify()] == [(verified, "no valid MANIFEST")]
    assert not store.path("motion", verified).exists()

    _drop_manifest(store, collected)
    (tmp_path / "artifacts" / "motion" / "not-a-key").mkdir()
    assert f"artifacts/motion/{collected}" in store.gc()
    assert sorted(p.name for p in (tmp_path / "artifacts" / "motion").iterdir()) == [rebuilt]


def _chain(store: Store, step: float = 1.0) -> dict[str, str]:
    """audio -> motion -> render, each materialized the way a run does (lineage included); a
    missing stage is computed with `step`, so a changed step makes a different copy."""

    def compute(ctx: StageContext) -> None:
        base = sum(float(g["x"][0]) for g in ctx.upstream.values())
        ctx.out.create_array("x", shape=(8,), chunks=(4,), dtype="float64")[:] = base + step

    keys: dict[str, str] = {}
    for name, ups in (("audio", ()), ("motion", ("audio",)), ("render", ("motion",))):
        ingredients = key_ingredients(name, 1, {}, {}, {u: keys[u] for u in ups})
        keys[name] = stage_key(ingredients)
        spec = StageSpec(name, 1, ups, (), {}, compute)
        planned = PlannedStage(name, keys[name], ingredients, {u: keys[u] for u in ups})
        materialize(spec, planned, str(store.root))
    return keys


def test_verify_evicts_what_was_built_from_a_damaged_or_replaced_upstream(tmp_path):
    store = Store(tmp_path / "damaged")
    keys = _chain(store)
    lineage = store.lineage("render", keys["render"])
    assert lineage["upstream_manifests"] == {
        "motion": store.manifest_digest("motion", keys["motion"])
    }
    chunk = store.path("audio", keys["audio"]) / "x" / "c" / "0"
    chunk.write_bytes(bytes([chunk.read_bytes()[0] ^ 0xFF]) + chunk.read_bytes()[1:])
    reasons = {p.stage: p.reason for p in store.verify()}
    assert reasons == {
        "audio": "altered file x/c/0",
        "motion": f"upstream audio {keys['audio'][:12]} is damaged",
        "render": f"upstream motion {keys['motion'][:12]} is damaged",
    }
    assert list(store.records()) == []

    store = Store(tmp_path / "replaced")
    keys = _chain(store)
    store.evict("motion", keys["motion"])  # evicted, then rebuilt differently by a later run
    _chain(store, step=2.0)
    assert {p.stage: p.reason for p in store.verify()} == {
        "render": f"upstream motion {keys['motion'][:12]} was replaced since"
    }
    store.evict("motion", keys["motion"])
    assert [p.reason for p in store.verify()] == []  # render already went with its upstream
