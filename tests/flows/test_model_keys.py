"""A stage's key covers its shared params and the chosen model's: changing a param only another
model reads leaves every stage of a finished run cached."""

import pytest

from artifacts.materialize import materialize
from artifacts.store import Store
from flows.dag import make_plan, param_rules, stage_specs
from params import resolve_params
from tasks.base import InputError

RUN = ["motion.model=choreographer", "render.resolution=128", "align.resolution=128"]


def plan(inputs, store, *overrides: str) -> list:
    params = resolve_params(param_rules(), RUN + list(overrides))
    return make_plan(inputs["audio"], inputs["image"], params, Store(store), explain=False)


def to_run(inputs, store, *overrides: str) -> list[str]:
    return [entry.planned.name for entry in plan(inputs, store, *overrides) if not entry.cached]


@pytest.fixture(scope="module")
def store(inputs, tmp_path_factory):
    """One finished run: choreographer motion, mesh DensePose, cutout animation."""
    root = tmp_path_factory.mktemp("store")
    for entry in plan(inputs, root):
        materialize(stage_specs()[entry.planned.name], entry.planned, str(root))
    return root


@pytest.mark.parametrize(
    "override",
    [
        "motion.steps=10",  # EDGE's
        "motion.library=/no/such/library.npz",  # the library model's (its path is not checked)
        "densepose.min_score=0.7",  # detectron2's
        "animate.steps=5",  # MagicAnimate's
        "render.betas=[1.0]",  # SMPL's
    ],
)
def test_another_models_param_leaves_every_stage_cached(inputs, store, override):
    assert to_run(inputs, store, override) == []


def test_the_chosen_models_param_recomputes_from_its_stage(inputs, store):
    assert to_run(inputs, store, "motion.energy=0.5") == [
        "motion", "render", "densepose", "align", "animate"
    ]  # fmt: skip
    assert to_run(inputs, store, "animate.fit_shape=0.2") == ["animate"]


def test_a_chosen_model_without_weights_fails_at_planning_and_writes_nothing(inputs, tmp_path):
    from flows.plan import plan_run

    with pytest.raises(InputError, match=r"^motion.model=edge needs .*--set motion.checkpoint"):
        plan_run(inputs["audio"], inputs["image"], ["motion.model=edge"], tmp_path / "store")
    assert not (tmp_path / "store" / "artifacts").exists()
