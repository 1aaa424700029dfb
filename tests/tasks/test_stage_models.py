"""Model variants as data in StageSpec: what a key covers and the one weights check."""

import pytest

from params import load_defaults
from tasks.animate.task import SPEC as ANIMATE
from tasks.base import InputError, Model, Package, Param, StageSpec, Weights
from tasks.densepose.task import SPEC as DENSEPOSE
from tasks.motion.task import SPEC as MOTION
from tasks.render.task import SPEC as RENDER


def defaults(stage: str, **changes) -> dict:
    return load_defaults()[stage] | changes


def test_key_params_are_the_shared_ones_and_the_chosen_models():
    choreographer = MOTION.key_params(defaults("motion", model="choreographer"))
    assert set(choreographer) == {"model", "seed", "energy"}
    edge = MOTION.key_params(defaults("motion", model="edge"))
    assert {"steps", "checkpoint", "jukebox_dir", "seed"} <= set(edge)
    assert "energy" not in edge and "library" not in edge
    assert set(DENSEPOSE.key_params(defaults("densepose", model="mesh"))) == {"model"}
    cutout = ANIMATE.key_params(defaults("animate", model="cutout"))
    assert set(cutout) == {"model", "crf", "fit_shape", "mesh_step"}
    assert "smpl_dir" not in RENDER.key_params(defaults("render", body="builtin"))


def test_every_model_claims_only_declared_params():
    with pytest.raises(ValueError, match="unknown params"):
        StageSpec("x", 1, (), (), {"model": Param(str)}, print, {"a": Model(params=("steps",))})


def test_a_chosen_model_without_weights_names_the_param_env_and_a_free_model():
    with pytest.raises(InputError, match=r"^motion.model=edge needs .* --set motion.checkpoint"):
        MOTION.check_model(defaults("motion", model="edge"))
    with pytest.raises(InputError, match=r"render.smpl_dir=PATH or \$MUSIC2DANCE_SMPL_DIR"):
        RENDER.check_model(defaults("render", body="smpl"))
    with pytest.raises(InputError, match=r"or densepose.model=mesh, which needs none"):
        DENSEPOSE.check_model(defaults("densepose", model="detectron2"))
    for spec, stage in ((MOTION, "motion"), (RENDER, "render"), (ANIMATE, "animate")):
        spec.check_model(defaults(stage))  # the defaults need no weights


def test_a_weights_folder_lacking_files_lists_them(tmp_path):
    (tmp_path / "appearance_encoder").mkdir()
    (tmp_path / "appearance_encoder" / "config.json").write_text("{}")
    params = defaults("animate", model="magicanimate", weights=str(tmp_path))
    with pytest.raises(InputError) as err:
        ANIMATE.check_model(params)
    message = str(err.value)
    assert "densepose_controlnet/config.json" in message and "temporal_attention" in message
    assert "appearance_encoder" not in message and "\n" not in message


def test_optional_weights_are_checked_only_when_set(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"x")
    params = defaults("motion", model="edge", checkpoint=str(checkpoint))
    MOTION.check_model(params)  # no Jukebox: a checkpoint on the baseline features
    with pytest.raises(InputError, match="motion.jukebox_dir=.* lacks vqvae.pth.tar"):
        MOTION.check_model(params | {"jukebox_dir": str(tmp_path)})


def test_a_missing_package_names_its_install_command(tmp_path):
    weights = Weights("path", "test weights", packages=(Package("no_such_pkg_m2d", "pip x"),))
    spec = StageSpec(
        "x", 1, (), (), {"model": Param(str), "path": Param(str)}, print,
        {"a": Model(params=("path",), weights=(weights,))},
    )  # fmt: skip
    with pytest.raises(InputError, match="a imports no_such_pkg_m2d: pip x"):
        spec.check_model({"model": "a", "path": str(tmp_path)})
