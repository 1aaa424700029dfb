"""Params and weights of `animate.model=wan-animate` (the animate stage's SPEC declares them).

It shares `weights` (here the Wan-AI/Wan2.2-Animate-14B-Diffusers folder), `seed`, `device` and
`precision` (auto: bf16 on GPU, the release's dtype; fp32 on CPU) with MagicAnimate; settings
whose official values differ carry a `wan_` prefix. Importing this does not import diffusers.
"""

from __future__ import annotations

from tasks.base import Model, Package, Param, Weights

# What `save_pretrained` of a WanAnimatePipeline writes (the Diffusers release's layout).
NETWORKS = ("transformer", "vae", "text_encoder", "image_encoder")
PROCESSORS = ("tokenizer", "image_processor", "scheduler")
CONTENTS = ("model_index.json", *(f"{name}/config.json" for name in NETWORKS), *PROCESSORS)

PARAMS: dict[str, Param] = {
    "wan_steps": Param(int, min=1, max=200, help="wan-animate: denoising steps per segment"),
    "wan_guidance": Param(
        float, min=1.0, max=20.0, help="wan-animate: classifier-free guidance (1 = off)"
    ),
    "wan_prompt": Param(str, help="wan-animate: text prompt"),
    "wan_segment": Param(
        int,
        choices=tuple(range(5, 162, 4)),  # the VAE packs 4 frames per latent after the first
        help="wan-animate: frames per segment, 4k+1 (official 77)",
    ),
    "wan_carry": Param(
        int, choices=(1, 5), help="wan-animate: frames of a segment that condition the next"
    ),
    "wan_offload": Param(
        str,
        choices=("none", "model", "group"),
        help="wan-animate: none | model (CPU offload per model) | group (per block group)",
    ),
    "wan_vae_tiling": Param(bool, help="wan-animate: decode in tiles (less GPU memory)"),
}

MODEL = Model(
    params=("weights", "seed", "device", "precision", *PARAMS),
    weights=(
        Weights(
            "weights",
            "the Wan2.2-Animate weights (a Wan-AI/Wan2.2-Animate-14B-Diffusers folder)",
            contents=CONTENTS,
            packages=(
                Package("diffusers", "pip install 'music2dance[animate]'"),
                Package("ftfy", "pip install 'music2dance[animate]'"),
            ),
        ),
    ),
)
