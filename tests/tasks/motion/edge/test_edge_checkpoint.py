"""Safe loading of official checkpoints, convert-edge output, and clear refusals."""

import json
import os
import sys
import types

import numpy as np
import pytest
import torch

from tasks.base import InputError
from tasks.motion.edge.checkpoint import (
    CONFIG_FILE,
    NORMALIZER_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    convert_checkpoint,
    load_edge,
)
from tasks.motion.edge.model import DanceDecoder
from tests.tasks.motion.edge.edge_testkit import TINY


@pytest.fixture
def official_classes(monkeypatch):
    """Importable look-alikes of EDGE's dataset.preprocess.Normalizer / dataset.scaler.MinMaxScaler,
    so torch.save writes the same pickle the official training script writes."""
    scaler_mod, preprocess_mod = (
        types.ModuleType("dataset.scaler"),
        types.ModuleType("dataset.preprocess"),
    )
    scaler_cls = type("MinMaxScaler", (), {"__module__": "dataset.scaler"})
    normalizer_cls = type("Normalizer", (), {"__module__": "dataset.preprocess"})
    scaler_mod.MinMaxScaler, preprocess_mod.Normalizer = scaler_cls, normalizer_cls
    monkeypatch.setitem(sys.modules, "dataset", types.ModuleType("dataset"))
    monkeypatch.setitem(sys.modules, "dataset.scaler", scaler_mod)
    monkeypatch.setitem(sys.modules, "dataset.preprocess", preprocess_mod)
    return normalizer_cls, scaler_cls


def official_checkpoint(path, official_classes) -> tuple[DanceDecoder, torch.Tensor]:
    normalizer_cls, scaler_cls = official_classes
    torch.manual_seed(1)
    model = DanceDecoder(TINY)
    scaler = scaler_cls()
    data = torch.randn(100, 151)
    lo, hi = data.min(0).values, data.max(0).values
    scaler.__dict__.update(
        feature_range=(-1, 1), copy=True, clip=True, n_samples_seen_=100,
        scale_=2 / (hi - lo), min_=-1 - lo * 2 / (hi - lo),
        data_min_=lo, data_max_=hi, data_range_=hi - lo,
    )  # fmt: skip
    normalizer = normalizer_cls()
    normalizer.scaler = scaler
    state = model.state_dict()
    torch.save(
        {
            "ema_state_dict": state,
            "model_state_dict": state,
            "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 4e-4}]},
            "normalizer": normalizer,
        },
        path,
    )
    return model, scaler.scale_


def test_official_layout_with_pickled_normalizer_loads(tmp_path, official_classes):
    path = tmp_path / "checkpoint.pt"
    model, scale = official_checkpoint(path, official_classes)
    weights = load_edge(path)
    assert weights.model.config.cond_feature_dim == 35 and not weights.model.training
    for key, value in model.state_dict().items():
        assert torch.equal(weights.model.state_dict()[key], value), key
    assert np.allclose(weights.normalizer.scale, scale.numpy())
    motion = np.random.default_rng(0).normal(size=(10, 151)) * 0.3
    assert np.allclose(weights.normalizer.unnormalize(weights.normalizer.normalize(motion)), motion)


def test_convert_edge_writes_safetensors_and_json_that_load_back(tmp_path, official_classes):
    path = tmp_path / "checkpoint.pt"
    official_checkpoint(path, official_classes)
    out = convert_checkpoint(path, tmp_path / "converted")
    assert {p.name for p in out.iterdir()} == {WEIGHTS_FILE, NORMALIZER_FILE, CONFIG_FILE}
    assert json.loads((out / CONFIG_FILE).read_text())["latent_dim"] == TINY.latent_dim
    original, converted = load_edge(path), load_edge(out / WEIGHTS_FILE)
    assert np.array_equal(original.normalizer.min, converted.normalizer.min)
    for key, value in original.model.state_dict().items():
        assert torch.equal(converted.model.state_dict()[key], value), key


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_os_system_payload_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"ema_state_dict": {}, "normalizer": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refused.*system"):
        load_edge(path)
    assert not marker.exists()


def test_missing_truncated_and_foreign_files_are_rejected_clearly(tmp_path, official_classes):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_edge(tmp_path / "nope.pt")
    good = tmp_path / "checkpoint.pt"
    official_checkpoint(good, official_classes)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_edge(truncated)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="truncated or not a torch file"):
        load_edge(text)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not an EDGE checkpoint"):
        load_edge(other)
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / NORMALIZER_FILE).write_text("{}")
    with pytest.raises(CheckpointError, match="convert-edge"):
        load_edge(folder)
    assert issubclass(CheckpointError, InputError)


def test_convert_edge_command(tmp_path, official_classes, capsys):
    import argparse

    from music2dance_cli.edge import register

    path = tmp_path / "checkpoint.pt"
    official_checkpoint(path, official_classes)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["convert-edge", str(path), str(tmp_path / "out"), "--num-heads", "4"])
    assert args.func(args) == 0
    assert (tmp_path / "out" / WEIGHTS_FILE).is_file()
    assert load_edge(tmp_path / "out").model.config.num_heads == 4
    assert "motion.checkpoint=" in capsys.readouterr().out


def test_converted_config_records_heads_and_feature_recipe(tmp_path, official_classes, caplog):
    path = tmp_path / "checkpoint.pt"
    official_checkpoint(path, official_classes)  # trained with TINY's 2 heads, not recorded
    with caplog.at_level("INFO", logger="tasks.motion.edge.checkpoint"):
        assumed = load_edge(path)
    assert assumed.model.config.num_heads == 8 and "--num-heads N" in caplog.text
    assert assumed.features == "edge"  # an official 35-d checkpoint: EDGE's own features
    out = convert_checkpoint(path, tmp_path / "converted", num_heads=TINY.num_heads)
    config = json.loads((out / CONFIG_FILE).read_text())
    assert config["num_heads"] == TINY.num_heads and config["features"] == "edge"
    loaded = load_edge(out)
    assert loaded.model.config == TINY and loaded.features == "edge"


def test_heads_or_recipe_that_cannot_fit_are_refused(tmp_path, official_classes):
    path = tmp_path / "checkpoint.pt"
    official_checkpoint(path, official_classes)
    with pytest.raises(CheckpointError, match="num_heads=3 does not divide the width 16"):
        load_edge(path, num_heads=3)
    with pytest.raises(CheckpointError, match="recipe 'jukebox' does not fit its 35-d"):
        load_edge(path, features="jukebox")
