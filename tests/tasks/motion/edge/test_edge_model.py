"""DanceDecoder: official state_dict layout, strict loading, config inference."""

import pytest
import torch

from tasks.motion.edge.model import (
    DanceDecoder,
    EdgeConfig,
    StateDictMismatch,
    build_from_state_dict,
    load_state_dict_strict,
)
from tests.tasks.motion.edge.edge_testkit import FIXTURES, TINY


def official_layout() -> dict[str, tuple[int, ...]]:
    """The 249 names and shapes of the released checkpoint's ema_state_dict."""
    rows = (FIXTURES / "edge_state_dict_keys.txt").read_text().splitlines()
    layout = {}
    for row in rows:
        name, shape = row.split(" ", 1)
        layout[name] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return layout


def test_full_config_has_exactly_the_official_names_and_shapes():
    with torch.device("meta"):
        model = DanceDecoder(EdgeConfig())
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(shapes) == 249
    assert shapes == official_layout()
    params = sum(p.numel() for p in model.parameters())
    assert params == 49_464_471


def test_random_official_state_dict_loads_strict_and_infers_the_conditioning():
    layout = official_layout()
    state = {k: torch.randn(shape) for k, shape in layout.items()}
    model = build_from_state_dict(state)
    assert model.config == EdgeConfig()
    assert torch.equal(model.final_layer.bias, state["final_layer.bias"])
    assert torch.equal(model.seqTransDecoder.stack[7].film3.block[1].weight,
                       state["seqTransDecoder.stack.7.film3.block.1.weight"])  # fmt: skip
    baseline = dict(state, **{"cond_projection.weight": torch.randn(512, 35)})
    assert build_from_state_dict(baseline).config.cond_feature_dim == 35


def test_tiny_state_dict_round_trips_strictly_with_module_prefix():
    torch.manual_seed(0)
    source = DanceDecoder(TINY)
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    model = build_from_state_dict(state, num_heads=TINY.num_heads)
    assert model.config == TINY
    x, cond, t = torch.randn(2, 150, 151), torch.randn(2, 150, 35), torch.tensor([5, 900])
    with torch.no_grad():
        assert torch.equal(model.eval()(x, cond, t), source.eval()(x, cond, t))


def test_mismatches_are_all_named():
    target = DanceDecoder(TINY)
    state = dict(target.state_dict())
    state.pop("null_cond_hidden")
    state["extra.weight"] = torch.zeros(1)
    state["final_layer.bias"] = torch.zeros(150)
    with pytest.raises(StateDictMismatch) as err:
        load_state_dict_strict(target, state)
    message = str(err.value)
    assert "missing keys ['null_cond_hidden']" in message
    assert "unexpected keys ['extra.weight']" in message
    assert "final_layer.bias: checkpoint (150,) vs model (151,)" in message
