"""Params and weights of `motion.model=edge` (the motion stage's SPEC declares them as its `edge`
model); imports no torch."""

from __future__ import annotations

from tasks.base import Model, Package, Param, Weights

JUKEBOX_FILES = ("vqvae.pth.tar", "prior_level_2.pth.tar")  # OpenAI Jukebox 5b, in jukebox_dir

PARAMS: dict[str, Param] = {
    "checkpoint": Param(
        str, nullable=True, path=True, help="EDGE checkpoint.pt or convert-edge folder"
    ),
    "guidance": Param(float, min=0.0, max=10.0, help="EDGE classifier-free guidance weight"),
    "steps": Param(int, min=1, max=1000, help="EDGE DDIM steps (official 50)"),
    "sampler": Param(str, choices=("ddim", "ddpm"), help="EDGE sampler"),
    "parity": Param(bool, help="EDGE: reproduce the official numerics and random-number order"),
    "device": Param(str, choices=("auto", "cpu", "cuda"), help="EDGE device"),
    "precision": Param(
        str,
        choices=("auto", "float32", "bfloat16"),
        help="EDGE fast sampler dtype; auto: bf16 on CUDA and CPUs with native bf16 (parity: fp32)",
    ),
    "jukebox_dir": Param(
        str,
        nullable=True,
        path=True,
        env="MUSIC2DANCE_JUKEBOX_DIR",
        help="EDGE with Jukebox features: folder of vqvae.pth.tar + prior_level_2.pth.tar",
    ),
    "edit_reference": Param(
        str, nullable=True, path=True, help="EDGE edit: .npz motion to keep parts of"
    ),
    "edit_joints": Param(str, help="EDGE edit: lower | upper | all | '0,1,2' joints to keep"),
    "edit_root": Param(bool, help="EDGE edit: keep the reference root path"),
    "edit_keyframes": Param(list, help="EDGE edit: times (s) whose reference pose is kept"),
}

MODEL = Model(
    params=tuple(PARAMS),
    weights=(
        Weights("checkpoint", "an EDGE checkpoint.pt or a `music2dance convert-edge` folder"),
        Weights(
            "jukebox_dir",
            "Jukebox weights for the released checkpoint",
            contents=JUKEBOX_FILES,
            optional=True,
            packages=(Package("jukemirlib", "pip install 'music2dance[jukebox]'"),),
        ),
    ),
)
