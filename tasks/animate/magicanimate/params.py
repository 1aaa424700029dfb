"""Params and weights of `animate.model=magicanimate` (the animate stage's SPEC declares them).

Kept apart from the model code so that importing them does not import diffusers.
"""

from __future__ import annotations

from tasks.base import Model, Package, Param, Weights

PARAMS: dict[str, Param] = {
    "weights": Param(
        str, nullable=True, path=True, help="MagicAnimate folder (appearance_encoder/, ...)"
    ),
    "sd15": Param(
        str, nullable=True, path=True, help="SD 1.5 folder (default: sibling of weights)"
    ),
    "vae": Param(str, nullable=True, path=True, help="sd-vae-ft-mse folder (default: sibling)"),
    "steps": Param(int, min=1, max=200, help="DDIM steps"),
    "guidance": Param(float, min=1.0, max=30.0, help="classifier-free guidance scale"),
    "seed": Param(int, min=0, help="seed of the tiled initial noise"),
    "window": Param(int, min=2, max=24, help="frames per context window"),
    "overlap": Param(int, min=0, max=23, help="frames shared by neighbouring windows"),
    "device": Param(str, choices=("auto", "cpu", "cuda"), help="auto = cuda when available"),
    "precision": Param(
        str, choices=("auto", "float32", "float16", "bfloat16"), help="auto: fp16 on GPU"
    ),
    "face_adapter": Param(
        str, nullable=True, path=True, help="trained face-attention adapter (.pt)"
    ),
    "decode_chunk": Param(int, min=1, max=64, help="frames per VAE decode chunk"),
    "compile": Param(bool, help="torch.compile the video UNet and ControlNet (GPU runs)"),
}

MODEL = Model(
    params=tuple(PARAMS),
    weights=(
        Weights(
            "weights",
            "the MagicAnimate release folder",
            contents=(
                "appearance_encoder/config.json",
                "densepose_controlnet/config.json",
                "temporal_attention/temporal_attention.ckpt",
            ),
            packages=(Package("diffusers", "pip install 'music2dance[animate]'"),),
        ),
    ),
)
