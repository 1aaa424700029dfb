"""Regenerate the golden files by running the OFFICIAL MagicAnimate modules (see ../README.md).

Runs only in the official environment (diffusers 0.21.4, a magic-animate checkout on
PYTHONPATH); it is not imported by the tests. Weights come from `ma_seeding.seeded_state_dict`
keyed by official parameter names, so the tests rebuild identical weights from the stored names.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from diffusers import AutoencoderKL, DDIMScheduler  # noqa: E402
from ma_seeding import TINY_2D, TINY_TEXT, TINY_VAE, pattern_video, seeded_state_dict  # noqa: E402
from magicanimate.models.appearance_encoder import AppearanceEncoderModel  # noqa: E402
from magicanimate.models.controlnet import ControlNetModel  # noqa: E402
from magicanimate.models.mutual_self_attention import ReferenceAttentionControl  # noqa: E402
from magicanimate.models.unet_controlnet import UNet3DConditionModel  # noqa: E402
from magicanimate.pipelines.pipeline_animation import AnimationPipeline  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel  # noqa: E402

# configs/inference/inference.yaml `unet_additional_kwargs`
MOTION = {
    "unet_use_cross_frame_attention": False,
    "unet_use_temporal_attention": False,
    "use_motion_module": True,
    "motion_module_resolutions": [1, 2, 4, 8],
    "motion_module_mid_block": False,
    "motion_module_decoder_only": False,
    "motion_module_type": "Vanilla",
    "motion_module_kwargs": {
        "num_attention_heads": 8,
        "num_transformer_block": 1,
        "attention_block_types": ["Temporal_Self", "Temporal_Self"],
        "temporal_position_encoding": True,
        "temporal_position_encoding_max_len": 24,
        "temporal_attention_dim_div": 1,
    },
}


def load_seeded(model: torch.nn.Module, seed: int) -> dict[str, list[int]]:
    """Seeded weights for every parameter (the fixed `pos_encoder.pe` tables are kept)."""
    shapes = {
        k: list(v.shape) for k, v in model.state_dict().items() if not k.endswith("pos_encoder.pe")
    }
    missing, unexpected = model.load_state_dict(seeded_state_dict(shapes, seed), strict=False)
    assert not unexpected and all(k.endswith("pos_encoder.pe") for k in missing)
    return shapes


def keys_blob(shapes: dict[str, list[int]]) -> np.ndarray:
    return np.frombuffer(json.dumps(shapes, sort_keys=True).encode(), dtype=np.uint8)


def video_unet() -> tuple[UNet3DConditionModel, dict[str, list[int]]]:
    config = dict(TINY_2D)
    config["down_block_types"] = [t.replace("2D", "3D") for t in config["down_block_types"]]
    config["up_block_types"] = [t.replace("2D", "3D") for t in config["up_block_types"]]
    unet = UNet3DConditionModel(**config, **MOTION).eval()
    return unet, load_seeded(unet, seed=1)


def official_keys() -> None:
    """Names/shapes of the full-size video UNet (SD 1.5 config), built on the meta device."""
    with torch.device("meta"):
        unet = UNet3DConditionModel(cross_attention_dim=768, sample_size=64, **MOTION)
    sd = unet.state_dict()
    with gzip.open(HERE / "official_unet_keys.json.gz", "wt") as f:
        json.dump(
            {
                "shapes": {k: list(v.shape) for k, v in sd.items()},
                "fp32_bytes": sum(v.numel() * 4 for v in sd.values()),
            },
            f,
            sort_keys=True,
        )


@torch.no_grad()
def unet_forward() -> None:
    unet, shapes = video_unet()
    g = torch.Generator().manual_seed(2)
    f = 8
    sample = torch.randn(1, 4, f, 8, 8, generator=g)
    text = torch.randn(1, 5, 32, generator=g)
    res_shapes = [(32, 8)] * 3 + [(32, 4)] * 3 + [(32, 2)] + [(64, 2)] * 2 + [(64, 1)] * 3
    res = [0.1 * torch.randn(1, c, f, s, s, generator=g) for c, s in res_shapes]
    mid = 0.1 * torch.randn(1, 64, f, 1, 1, generator=g)
    out = unet(sample, torch.tensor(401), encoder_hidden_states=text).sample
    out_res = unet(
        sample,
        torch.tensor(401),
        encoder_hidden_states=text,
        down_block_additional_residuals=res,
        mid_block_additional_residual=mid,
    ).sample
    np.savez_compressed(
        HERE / "unet_forward.npz",
        official_keys=keys_blob(shapes),
        sample=sample.numpy(),
        text=text.numpy(),
        timestep=np.array(401),
        out=out.numpy(),
        out_res=out_res.numpy(),
        mid=mid.numpy(),
        **{f"res{i}": r.numpy() for i, r in enumerate(res)},
    )


@torch.no_grad()
def reference_attention() -> None:
    unet, _ = video_unet()
    encoder = AppearanceEncoderModel(**TINY_2D).eval()
    encoder_shapes = load_seeded(encoder, seed=3)
    writer = ReferenceAttentionControl(encoder, do_classifier_free_guidance=True, mode="write")
    reader = ReferenceAttentionControl(unet, do_classifier_free_guidance=True, mode="read")
    g = torch.Generator().manual_seed(4)
    ref = torch.randn(1, 4, 8, 8, generator=g)
    sample = torch.randn(1, 4, 8, 8, 8, generator=g)
    text = torch.randn(1, 5, 32, generator=g)
    t = torch.tensor(601)
    encoder(ref.repeat(2, 1, 1, 1), t, encoder_hidden_states=text.repeat(2, 1, 1))
    reader.update(writer)
    out = unet(sample.repeat(2, 1, 1, 1, 1), t, encoder_hidden_states=text.repeat(2, 1, 1)).sample
    np.savez_compressed(
        HERE / "reference_attention.npz",
        encoder_keys=keys_blob(encoder_shapes),
        ref=ref.numpy(),
        sample=sample.numpy(),
        text=text.numpy(),
        timestep=np.array(601),
        out=out.numpy(),
    )


class StubTokenizer:
    """Tokenizer stand-in: "" -> [bos, eos, pad...] of length 8 (the tiny CLIP's context)."""

    model_max_length = 8

    def __call__(self, prompt, padding=None, max_length=None, truncation=None, return_tensors=None):
        n = len(prompt) if isinstance(prompt, list) else 1
        length = 2 if padding == "longest" else self.model_max_length
        ids = torch.full((n, length), 2, dtype=torch.long)
        ids[:, 0], ids[:, 1] = 0, 1
        return type("Tokens", (), {"input_ids": ids, "attention_mask": torch.ones_like(ids)})()


def pipeline_steps(steps: int = 25, out: Path = HERE / "pipeline_steps.npz") -> None:
    """Official settings: 25 DDIM steps; records step 1 (t=961 -> 921) and the final latents."""
    torch.Tensor.cuda = lambda self, *a, **k: self  # the official pipeline hard-codes .cuda()
    unet, _ = video_unet()
    encoder = AppearanceEncoderModel(**TINY_2D).eval()
    load_seeded(encoder, seed=3)
    dropped = ("sample_size", "out_channels", "up_block_types")
    cn_config = {k: v for k, v in TINY_2D.items() if k not in dropped}
    controlnet = ControlNetModel(**cn_config, conditioning_embedding_out_channels=(8, 8, 16, 16))
    cn_shapes = load_seeded(controlnet.eval(), seed=5)
    vae = AutoencoderKL(**TINY_VAE).eval()
    vae_shapes = load_seeded(vae, seed=7)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TINY_TEXT)).eval()
    # inference.yaml noise_scheduler_kwargs; the pipeline sets steps_offset=1, clip_sample=False
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear")
    pipe = AnimationPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=StubTokenizer(),
        unet=unet,
        controlnet=controlnet,
        scheduler=scheduler,
    )
    control, source = pattern_video(32)
    record: dict[str, list[torch.Tensor]] = {
        "noise": [],
        "latents": [],
        "final": [],
        "controlnet": [],
    }
    step, decode = pipe.scheduler.step, pipe.decode_latents

    def recording_step(noise, t, latents, **kwargs):
        record["noise"].append(noise.clone())
        record["latents"].append(latents.clone())
        return step(noise, t, latents, **kwargs)

    def recording_decode(latents, rank, decoder_consistency=None):
        record["final"].append(latents.clone())
        return decode(latents, rank, decoder_consistency)

    controlnet_forward = controlnet.forward

    def recording_controlnet(sample, t, **kwargs):  # the first call: frames 0-15 at t=961
        down, mid = controlnet_forward(sample, t, **kwargs)
        if not record["controlnet"]:
            cond = kwargs["controlnet_cond"]
            record["controlnet"] = [sample.clone(), cond.clone(), *down, mid]
            record["controlnet_layout"] = [torch.tensor(cond.is_contiguous())]
        return down, mid

    pipe.scheduler.step, pipe.decode_latents = recording_step, recording_decode
    controlnet.forward = recording_controlnet
    with torch.no_grad():
        text = pipe._encode_prompt([""], torch.device("cpu"), 1, True, [""])
    video = pipe(
        "",
        negative_prompt="",
        num_inference_steps=steps,
        guidance_scale=7.5,
        width=64,
        height=64,
        video_length=32,
        controlnet_condition=control,
        generator=torch.Generator().manual_seed(42),
        appearance_encoder=encoder,
        source_image=source,
    ).videos
    np.savez_compressed(
        out,
        controlnet_keys=keys_blob(cn_shapes),
        vae_keys=keys_blob(vae_shapes),
        text=text[1:].numpy(),
        noise_step1=record["noise"][0].numpy(),
        latents_step1=record["latents"][1].numpy(),
        latents=record["final"][0].numpy(),
        video_first_last=video[0, :, [0, 31]].numpy(),
        controlnet_sample=record["controlnet"][0].numpy(),
        controlnet_cond=record["controlnet"][1].numpy(),
        controlnet_cond_contiguous=record["controlnet_layout"][0].numpy(),
        controlnet_mid=record["controlnet"][-1].numpy(),
        **{f"controlnet_down{i}": r.numpy() for i, r in enumerate(record["controlnet"][2:-1])},
    )


if __name__ == "__main__":
    official_keys()
    unet_forward()
    reference_attention()
    pipeline_steps()
