"""Quality gates: thresholds, disabled gates, unmeasured metrics."""

import math

import pytest

from tasks.evaluate.gates import evaluate_gates

GATES = {"pfc_max": 2.0, "bas_min": 0.2, "identity_max": 0.6, "foot_skating_max": None}


def test_gates_pass_and_fail():
    good = {"pfc": 1.0, "bas": 0.3, "identity": 0.4, "foot_skating": 0.9}
    assert evaluate_gates(good, GATES) == []
    bad = {"pfc": 2.5, "bas": 0.1, "identity": 0.6, "foot_skating": 0.9}
    assert evaluate_gates(bad, GATES) == ["pfc_max", "bas_min"]  # 0.6 <= 0.6 passes


def test_unmeasured_metric_fails_its_gate():
    metrics = {"pfc": 1.0, "bas": 0.3, "identity": math.nan}
    assert evaluate_gates(metrics, GATES) == ["identity_max"]
    assert evaluate_gates({"pfc": 1.0, "bas": 0.3}, GATES) == ["identity_max"]


def test_gate_names_need_a_bound():
    with pytest.raises(ValueError, match="_max or _min"):
        evaluate_gates({}, {"pfc": 1.0})
