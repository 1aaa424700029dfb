"""Planning alone: keys from params, input hashes and weight fingerprints, before anything runs."""

import os

import pytest

from artifacts.store import Store
from flows.dag import make_plan, param_rules
from params import resolve_params
from tasks.base import InputError


def keys(inputs, tmp_path, *overrides: str) -> dict[str, str]:
    params = resolve_params(param_rules(), list(overrides))
    plan = make_plan(inputs["audio"], inputs["image"], params, Store(tmp_path / "store"))
    return {entry.planned.name: entry.planned.key for entry in plan}


def test_replacing_a_weights_file_at_the_same_path_changes_its_stage_key(inputs, tmp_path):
    model = tmp_path / "SMPL_NEUTRAL.npz"
    model.write_bytes(b"first")
    before = keys(inputs, tmp_path, "render.body=smpl", f"render.smpl_dir={model}")
    model.write_bytes(b"second, longer")
    after = keys(inputs, tmp_path, "render.body=smpl", f"render.smpl_dir={model}")
    assert before["motion"] == after["motion"]
    assert all(before[s] != after[s] for s in ("render", "densepose", "align", "animate"))


def test_env_fallback_for_a_path_param_is_part_of_the_key(inputs, tmp_path, monkeypatch):
    model = tmp_path / "model.npz"
    model.write_bytes(b"x")
    explicit = keys(inputs, tmp_path, "render.body=smpl", f"render.smpl_dir={model}")
    monkeypatch.setenv("MUSIC2DANCE_SMPL_DIR", str(model))
    assert keys(inputs, tmp_path, "render.body=smpl") == explicit


def test_missing_weights_path_is_a_clear_error(inputs, tmp_path):
    with pytest.raises(InputError, match="render.smpl_dir: .* not found"):
        missing = os.path.join(str(tmp_path), "nope.pkl")
        keys(inputs, tmp_path, "render.body=smpl", f"render.smpl_dir={missing}")
