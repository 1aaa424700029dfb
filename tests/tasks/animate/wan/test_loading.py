"""Strict, offline loading of the Diffusers-layout folder."""

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from tasks.animate.wan.loading import load_pipeline
from tasks.base import InputError
from tests.tasks.animate.wan.wan_tiny import save_tiny_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return save_tiny_weights(tmp_path_factory.mktemp("wan") / "Wan2.2-Animate-14B-Diffusers")


def _edit_transformer(folder, edit):
    path = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path)


def test_loads_every_component(weights):
    pipe = load_pipeline(weights, torch.float32)
    assert pipe.transformer.config.motion_encoder_size == 16 and pipe.tokenizer is not None


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.update(extra=torch.zeros(2)), "unexpected_keys.*extra"),
        (lambda t: t.pop(sorted(t)[0]), "missing"),
    ],
    ids=["unexpected", "missing"],
)
def test_a_tensor_out_of_place_is_one_error(weights, tmp_path, edit, problem):
    folder = shutil.copytree(weights, tmp_path / "edited")
    _edit_transformer(folder, edit)
    with pytest.raises(InputError, match=f"transformer/.*{problem}"):
        load_pipeline(folder, torch.float32)
