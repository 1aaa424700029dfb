"""WanAnimatePipeline's segment loop, one segment at a time, so frames stream out as they decode.

`WanAnimatePipeline.__call__` generates a long video in segments of `segment` frames, each
conditioned on the last `carry` frames of the one before, but it keeps every decoded segment on
the device and returns the whole video at the end. This recipe runs the same steps through the
pipeline's own methods (encode_prompt, encode_image, prepare_*_latents, transformer, scheduler,
vae) in the same order and with the same random draws, and yields each segment's new frames:
memory stays one segment deep and long songs show progress per segment. With the same inputs
and generator its frames equal `__call__`'s (tests/tasks/animate/wan/test_segments.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentPlan:
    """How `num_frames` split into segments of `length` frames sharing `carry` frames."""

    num_frames: int
    length: int
    carry: int

    @property
    def step(self) -> int:
        """New frames per segment after the first."""
        return self.length - self.carry

    @property
    def count(self) -> int:
        """Segments needed; the last one is padded (as the pipeline pads: reflected frames)."""
        return -(-(self.num_frames - self.carry) // self.step)

    def padded_indices(self) -> list[int]:
        """Driving frame index for each of the count * step + carry generated frames: 0..T-1,
        then back and forth (the pipeline's `pad_video_frames`)."""
        total = self.count * self.step + self.carry
        period = 2 * (self.num_frames - 1) or 1
        return [i if (i := k % period) < self.num_frames else period - i for k in range(total)]


def check_segments(num_frames: int, length: int, carry: int, temporal_factor: int = 4) -> None:
    """Raise ValueError unless segments of `length` frames fit the VAE and the clip."""
    if length % temporal_factor != 1:
        raise ValueError(
            f"segment length {length} must be {temporal_factor}k+1 (e.g. 77): set "
            "animate.wan_segment"
        )
    if num_frames <= carry:
        raise ValueError(f"a clip of {num_frames} frames is too short for {carry} carried frames")


def _to_uint8(pipe, video: torch.Tensor) -> np.ndarray:
    """Decoded video (1, 3, T, H, W) in [-1, 1] -> (T, H, W, 3) uint8, as the pipeline's 'np'
    output scaled by 255 and rounded (diffusers' numpy_to_pil)."""
    frames = pipe.video_processor.postprocess_video(video.float(), output_type="np")[0]
    return (frames * 255).round().astype(np.uint8)


def _destandardize(pipe, latents: torch.Tensor) -> torch.Tensor:
    """Undo the VAE latents' per-channel standardisation before decoding."""
    config = pipe.vae.config
    mean = torch.tensor(config.latents_mean).view(1, config.z_dim, 1, 1, 1).to(latents)
    recip_std = 1.0 / torch.tensor(config.latents_std).view(1, config.z_dim, 1, 1, 1).to(latents)
    return latents / recip_std + mean  # the pipeline's arithmetic, bit for bit


@torch.no_grad()
def animate_segments(
    pipe,
    *,
    reference: PIL.Image.Image,
    pose_frame: Callable[[int], PIL.Image.Image],
    face: PIL.Image.Image,
    plan: SegmentPlan,
    height: int,
    width: int,
    steps: int,
    guidance: float,
    prompt: str,
    generator: torch.Generator,
    max_sequence_length: int = 512,
    progress: logging.Logger = log,
) -> Iterator[np.ndarray]:
    """Frames (n, height, width, 3) uint8 of each segment, in order, plan.num_frames in all.

    pose_frame(i): the pose image of driving frame i; face: the face video's (static) frame;
    progress: where a line per finished segment goes (the stage passes the run's logger).
    """
    # 1. Check inputs.
    check_segments(plan.num_frames, plan.length, plan.carry, pipe.vae_scale_factor_temporal)
    device = pipe._execution_device
    cfg = guidance > 1.0

    # 2. Encode the prompt and the reference image (CLIP).
    prompt_embeds, negative_embeds = pipe.encode_prompt(
        prompt=prompt,
        do_classifier_free_guidance=cfg,
        max_sequence_length=max_sequence_length,
        device=device,
    )
    dtype = pipe.transformer.dtype
    prompt_embeds = prompt_embeds.to(dtype)
    negative_embeds = negative_embeds.to(dtype) if cfg else None
    image_embeds = pipe.encode_image(reference, device).to(dtype)

    # 3. Latents of the reference image, shared by every segment.
    pixels = pipe.vae_image_processor.preprocess(
        reference, height=height, width=width, resize_mode="fill"
    ).to(device, dtype=torch.float32)
    reference_latents = pipe.prepare_reference_image_latents(
        pixels, 1, generator=generator, device=device
    )
    size = pipe.transformer.config.motion_encoder_size
    face_pixels = pipe.video_processor.preprocess_video([face], height=size, width=size)
    face_pixels = face_pixels.to(device, dtype=torch.float32)

    # 4. Segments: noise, pose latents, the carried frames' latents, denoise, decode.
    indices = plan.padded_indices()
    previous = None
    written = 0
    for segment in range(plan.count):
        start = segment * plan.step
        latents = pipe.prepare_latents(
            1,
            num_channels_latents=pipe.vae.config.z_dim,
            height=height,
            width=width,
            num_frames=plan.length,
            dtype=torch.float32,
            device=device,
            generator=generator,
        )
        poses = [pose_frame(i) for i in indices[start : start + plan.length]]
        pose_pixels = pipe.video_processor.preprocess_video(poses, height=height, width=width)
        pose_latents = pipe.prepare_pose_latents(
            pose_pixels.to(device, dtype=torch.float32), 1, generator=generator, device=device
        ).to(dtype)
        face_segment = face_pixels.expand(-1, -1, plan.length, -1, -1).to(dtype)
        carried = pipe.prepare_prev_segment_cond_latents(
            previous,
            batch_size=1,
            segment_frame_length=plan.length,
            start_frame=start,
            height=height,
            width=width,
            prev_segment_cond_frames=plan.carry,
            task="animate",
            generator=generator,
            device=device,
        )
        condition = torch.cat([reference_latents, carried], dim=2)
        pipe.scheduler.set_timesteps(steps, device=device)
        for t in pipe.scheduler.timesteps:
            latents = _denoise_step(
                pipe, latents, condition, t, prompt_embeds, negative_embeds, image_embeds,
                pose_latents, face_segment, guidance,
            )  # fmt: skip
        # 4.1 Decode, skipping the reference's latent frame; drop the carried frames.
        latents = _destandardize(pipe, latents.to(pipe.vae.dtype))
        video = pipe.vae.decode(latents[:, :, 1:], return_dict=False)[0]
        previous = video[:, :, -plan.carry :].clone()
        new = video if segment == 0 else video[:, :, plan.carry :]
        new = new[:, :, : plan.num_frames - written]
        written += new.shape[2]
        progress.info(
            "wan-animate: segment %d/%d done, %d/%d frames", segment + 1, plan.count, written,
            plan.num_frames,
        )  # fmt: skip
        yield _to_uint8(pipe, new)
    pipe.maybe_free_model_hooks()


def _denoise_step(
    pipe, latents, condition, t, prompt_embeds, negative_embeds, image_embeds, pose_latents,
    face, guidance,
) -> torch.Tensor:  # fmt: skip
    """One scheduler step; with guidance > 1 the unconditional branch sees a blank face (-1)."""
    model_input = torch.cat([latents, condition], dim=1).to(pipe.transformer.dtype)
    timestep = t.expand(latents.shape[0])

    def predict(embeds: torch.Tensor, face_pixels: torch.Tensor, branch: str) -> torch.Tensor:
        with pipe.transformer.cache_context(branch):
            return pipe.transformer(
                hidden_states=model_input,
                timestep=timestep,
                encoder_hidden_states=embeds,
                encoder_hidden_states_image=image_embeds,
                pose_hidden_states=pose_latents,
                face_pixel_values=face_pixels,
                return_dict=False,
            )[0]

    noise = predict(prompt_embeds, face, "cond")
    if guidance > 1.0:
        uncond = predict(negative_embeds, face * 0 - 1, "uncond")
        noise = uncond + guidance * (noise - uncond)
    return pipe.scheduler.step(noise, t, latents, return_dict=False)[0]
