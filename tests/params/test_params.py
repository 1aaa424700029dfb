import pytest

from flows.dag import STAGE_ORDER, param_rules, stage_specs
from params import load_defaults, parse_override, resolve_params
from tasks.base import InputError, Param


def test_defaults_and_rules_name_the_same_keys():
    from tasks.evaluate.gates import GATE_RULES
    from tasks.evaluate.task import SPEC as EVALUATE

    defaults, rules = load_defaults(), param_rules()
    assert list(rules) == list(STAGE_ORDER)
    from tasks.dataset.task import PARAMS as DATASET

    rules |= {"evaluate": EVALUATE.params, "gates": GATE_RULES, "dataset": DATASET}
    assert set(defaults) == set(rules)
    for section, keys in rules.items():
        assert set(defaults[section]) == set(keys), section


def test_defaults_pass_their_own_rules():
    params = resolve_params(param_rules())
    assert params["motion"]["seed"] == load_defaults()["motion"]["seed"]


def test_overrides_parse_as_yaml_values():
    assert parse_override("motion.seed=7") == ("motion", "seed", 7)
    assert parse_override("render.margin=0.25") == ("render", "margin", 0.25)
    assert parse_override("motion.checkpoint=null") == ("motion", "checkpoint", None)
    with pytest.raises(InputError, match="stage.key=value"):
        parse_override("seed=7")


def test_rules_reject_wrong_types_ranges_and_choices():
    rules = {
        "s": {"n": Param(int, min=1, max=4), "x": Param(float), "c": Param(str, choices=("a",))}
    }
    defaults = {"s": {"n": 2, "x": 1, "c": "a"}}
    assert resolve_params(rules, ["s.x=2"], defaults)["s"]["x"] == 2.0
    for bad, message in [
        ("s.n=9", "maximum"),
        ("s.n=0", "minimum"),
        ("s.n=true", "type int"),
        ("s.c=b", "one of"),
        ("s.q=1", "unknown key s.q"),
        ("t.n=1", "unknown stage"),
    ]:
        with pytest.raises(InputError, match=message):
            resolve_params(rules, [bad], defaults)


def test_stage_versions_and_upstreams_form_a_dag_in_order():
    seen: set[str] = set()
    for name, spec in stage_specs().items():
        assert spec.version >= 1 and set(spec.upstream) <= seen, name
        seen.add(name)
