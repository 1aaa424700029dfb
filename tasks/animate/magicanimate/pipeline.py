"""MagicAnimate on current diffusers: photo + DensePose video -> frames, in bounded memory.

The recipe reproduces the official `AnimationPipeline` (magic-research/magic-animate
`magicanimate/pipelines/pipeline_animation.py`): empty prompt in both guidance halves, the
appearance encoder re-encodes the clean reference latent at every timestep, ControlNet residuals
are computed once per frame per step (conditional branch, shared by both halves), closed-loop
16-frame windows overlapping by 4 are averaged per frame, then guidance and one DDIM step.

Memory: latents live in `latents_store` (any array of shape (T, 4, h, w): numpy or zarr), each
frame's noise prediction is accumulated only while a window still needs it, and DDIM updates a
frame as soon as its last window is done (the step is elementwise, so this equals one step over
the whole clip). ControlNet residuals are cached only until their frame's last window. Decoding
runs in chunks (`iter_frames`), so a caller can write each chunk before the next is decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from tasks.animate.magicanimate.face import FaceAttention, FaceEncoder
from tasks.animate.magicanimate.reference import ReferenceAttention
from tasks.animate.magicanimate.unet import MagicAnimateUNet
from tasks.animate.magicanimate.windows import context_windows, last_use, padded_length, tiled_noise

log = logging.getLogger(__name__)


class FrameSource(Protocol):
    """(T, H, W, 3) uint8 frames readable by slices (numpy array or zarr array)."""

    shape: tuple[int, ...]

    def __getitem__(self, index: Any) -> np.ndarray: ...


def magicanimate_scheduler() -> DDIMScheduler:
    """The DDIM settings the official pipeline runs with (after its config fix-ups)."""
    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="linear",
        steps_offset=1,
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="leading",
    )


def controlnet_image(
    frames: np.ndarray, device: torch.device | str, dtype: torch.dtype
) -> torch.Tensor:
    """ControlNet condition (n, 3, H, W) in [0, 1] of uint8 frames (n, H, W, 3), contiguous:
    the official layout (channels-last strides would pick other conv kernels: not bit-exact)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device, dtype)
    return (x.permute(0, 3, 1, 2) / 255.0).contiguous()


class _ResidualCache:
    """Per-frame ControlNet residuals for one step, dropped after the frame's last window.

    They are computed in the official batches: consecutive `chunk`-frame runs (0-15, 16-31, ...
    for 16-frame windows), not the frames a window lacks (other batch sizes give other bits).
    """

    def __init__(self, last: list[int], chunk: int) -> None:
        self.last = last
        self.chunk = chunk
        self.frames: dict[int, tuple[list[torch.Tensor], torch.Tensor]] = {}

    def evict_after(self, window_index: int) -> None:
        for f in [f for f in self.frames if self.last[f] <= window_index]:
            del self.frames[f]


class _OpenLatents(dict):
    """This step's latents by frame, read from the store on first use; a frame is popped when
    it is stepped (frames are read before any frame they share a window or chunk with is)."""

    def __init__(self, store: Any, device: torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        self.store, self.device, self.dtype = store, device, dtype

    def __missing__(self, frame: int) -> torch.Tensor:
        self[frame] = torch.from_numpy(np.asarray(self.store[frame])).to(self.device, self.dtype)
        return self[frame]


class MagicAnimatePipeline(DiffusionPipeline):
    """Animate a reference image with a DensePose driving video (MagicAnimate weights)."""

    model_cpu_offload_seq = "text_encoder->appearance_encoder->controlnet->unet->vae"
    _optional_components = ["text_encoder", "tokenizer", "face_encoder"]

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: MagicAnimateUNet,
        controlnet: ControlNetModel,
        appearance_encoder: UNet2DConditionModel,
        scheduler: DDIMScheduler,
        text_encoder: Any = None,
        tokenizer: Any = None,
        face_encoder: FaceEncoder | None = None,
    ) -> None:
        super().__init__()
        self.register_modules(
            vae=vae,
            unet=unet,
            controlnet=controlnet,
            appearance_encoder=appearance_encoder,
            scheduler=scheduler,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            face_encoder=face_encoder,
        )
        self.reference = ReferenceAttention(appearance_encoder, unet)
        self.face = FaceAttention(unet, face_encoder) if face_encoder is not None else None

    # ----------------------------------------------------------------------------------------
    def check_inputs(
        self,
        reference: np.ndarray,
        condition: FrameSource,
        num_inference_steps: int,
        window: int,
        overlap: int,
        prompt_embeds: torch.Tensor | None,
    ) -> None:
        if reference.ndim != 3 or reference.shape[2] != 3 or reference.dtype != np.uint8:
            raise ValueError(f"reference must be (H, W, 3) uint8, got {reference.shape}")
        if len(condition.shape) != 4 or tuple(condition.shape[1:]) != reference.shape:
            raise ValueError(
                f"condition frames {tuple(condition.shape)} must be (T, H, W, 3) with the "
                f"reference's size {reference.shape}; resize one to match"
            )
        if reference.shape[0] % 8 or reference.shape[1] % 8:
            raise ValueError(f"height and width must be multiples of 8, got {reference.shape[:2]}")
        if condition.shape[0] < 1:
            raise ValueError("condition video has no frames")
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        if not 0 <= overlap < window:
            raise ValueError(f"overlap {overlap} must be in [0, window={window})")
        if window > self.unet.config.motion_max_seq_length:
            raise ValueError(
                f"window {window} exceeds the motion modules' "
                f"{self.unet.config.motion_max_seq_length} positions"
            )
        if prompt_embeds is None and (self.text_encoder is None or self.tokenizer is None):
            raise ValueError("pass prompt_embeds or load a text_encoder and tokenizer")

    @torch.no_grad()
    def encode_prompt(self, prompt: str = "") -> torch.Tensor:
        """CLIP embedding (1, 77, 768) of `prompt` (MagicAnimate uses "" in both halves)."""
        ids = self.tokenizer(
            [prompt],
            padding="max_length",
            max_length=self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        return self.text_encoder(ids.to(self.device))[0]

    @torch.no_grad()
    def encode_images(self, images: np.ndarray) -> torch.Tensor:
        """Latent means (n, 4, H/8, W/8) of uint8 images (n, H, W, 3), scaled for the UNet."""
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device, self.vae.dtype)
        x = x.permute(0, 3, 1, 2) / 127.5 - 1.0
        mean = torch.cat([self.vae.encode(x[i : i + 1]).latent_dist.mean for i in range(len(x))])
        return mean * self.vae.config.scaling_factor

    @torch.no_grad()
    def encode_face_latents(self, face_image: np.ndarray) -> torch.Tensor:
        """VAE latent (1, 4, s/8, s/8) of the face crop resized to the encoder's `crop_size` s."""
        size = self.face_encoder.config.crop_size
        crop = cv2.resize(face_image, (size, size), interpolation=cv2.INTER_AREA)
        return self.encode_images(crop[None]).to(self.face_encoder.dtype)

    @torch.no_grad()
    def encode_face(self, face_image: np.ndarray) -> torch.Tensor:
        """Face tokens (1, n, d) of a face crop (h, w, 3) uint8."""
        return self.face_encoder(self.encode_face_latents(face_image))

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> np.ndarray:
        """uint8 frames (n, H, W, 3) from latents (n, 4, h, w), one frame per VAE call."""
        latents = latents.to(self.device, self.vae.dtype) / self.vae.config.scaling_factor
        video = torch.cat([self.vae.decode(latents[i : i + 1]).sample for i in range(len(latents))])
        video = (video / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)
        return (video.float() * 255).round().to(torch.uint8).cpu().numpy()

    def prepare_latents(
        self,
        store: Any,
        height: int,
        width: int,
        clip: int,
        generator: torch.Generator | None,
    ) -> None:
        """Write the tiled initial noise into `store` (T, 4, h, w), frame i <- noise[i % clip]."""
        c = self.unet.config.in_channels
        noise = tiled_noise(c, height // 8, width // 8, clip=clip, generator=generator)
        noise = (noise[0] * self.scheduler.init_noise_sigma).transpose(0, 1).numpy()
        for i in range(store.shape[0]):
            store[i] = noise[i % clip]

    def _condition(
        self, condition: FrameSource, frames: Sequence[int], length: int
    ) -> torch.Tensor:
        """ControlNet images (n, 3, H, W) in [0, 1]; frames past the clip repeat its last frame."""
        rows = np.stack([np.asarray(condition[min(f, length - 1)]) for f in frames])
        return controlnet_image(rows, self.device, self.controlnet.dtype)

    def _controlnet_residuals(
        self,
        cache: _ResidualCache,
        frames: list[int],
        latents: dict[int, torch.Tensor],
        t: torch.Tensor,
        text: torch.Tensor,
        condition: FrameSource,
        length: int,
        scale: float,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Residuals for `frames`; a frame not cached yet this step brings its whole chunk."""
        todo = {f - f % cache.chunk for f in frames if f not in cache.frames}
        for start in sorted(todo):
            batch = list(range(start, min(start + cache.chunk, len(cache.last))))
            sample = torch.stack([latents[f] for f in batch])
            down, mid = self.controlnet(
                self.scheduler.scale_model_input(sample, t),
                t,
                encoder_hidden_states=text.expand(len(batch), -1, -1),
                controlnet_cond=self._condition(condition, batch, length),
                conditioning_scale=scale,
                return_dict=False,
            )
            for j, f in enumerate(batch):
                cache.frames[f] = ([d[j] for d in down], mid[j])
        levels = len(cache.frames[frames[0]][0])
        down = [torch.stack([cache.frames[f][0][k] for f in frames]) for k in range(levels)]
        return down, torch.stack([cache.frames[f][1] for f in frames])

    # ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def __call__(
        self,
        reference: np.ndarray,
        condition: FrameSource,
        *,
        num_inference_steps: int = 25,
        guidance_scale: float = 7.5,
        window: int = 16,
        overlap: int = 4,
        controlnet_conditioning_scale: float = 1.0,
        generator: torch.Generator | None = None,
        prompt_embeds: torch.Tensor | None = None,
        face_image: np.ndarray | None = None,
        latents_store: Any = None,
        output_type: str = "np",
        callback: Callable[[int, int], None] | None = None,
    ) -> np.ndarray | None:
        """Frames (T, H, W, 3) uint8 (`output_type="np"`), or None (`"latent"`: decode later with
        `iter_frames(latents_store, T)` to keep memory bounded).

        `reference` (H, W, 3) uint8; `condition` (T, H, W, 3) uint8 DensePose frames;
        `latents_store` (optional) a writable float32 array of shape (padded T, 4, H/8, W/8);
        `face_image` (optional) the reference's face crop (h, w, 3) uint8 for the face adapter.
        """
        # 1. Check inputs
        if output_type not in ("np", "latent"):
            raise ValueError(f"output_type must be 'np' or 'latent', got {output_type!r}")
        self.check_inputs(reference, condition, num_inference_steps, window, overlap, prompt_embeds)
        length = int(condition.shape[0])
        height, width = reference.shape[:2]
        total = padded_length(length, window)
        cfg = guidance_scale > 1.0

        # 2. Encode the (empty) prompt: the same embedding serves both guidance halves
        text = self.encode_prompt("") if prompt_embeds is None else prompt_embeds
        text = text.to(self.device, self.unet.dtype)

        # 3. Clean reference latent (1, 4, h, w) for the appearance encoder
        ref_latents = self.encode_images(reference[None])

        # 4. Face tokens for the face adapter (conditional half only)
        if self.face is not None:
            self.face.set_tokens(None if face_image is None else self.encode_face(face_image))

        # 5. Timesteps
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        timesteps = self.scheduler.timesteps

        # 6. Initial latents: one `window`-frame noise tiled over the padded clip
        if latents_store is None:
            latents_store = np.zeros((total, 4, height // 8, width // 8), np.float32)
        if tuple(latents_store.shape) != (total, 4, height // 8, width // 8):
            raise ValueError(f"latents_store must have shape {(total, 4, height // 8, width // 8)}")
        self.prepare_latents(latents_store, height, width, window, generator)

        # 7. Windows and the window after which each frame is final
        windows = context_windows(total, window, overlap)
        last = last_use(windows, total)
        log.info("animating %d frames (%d padded) in %d windows", length, total, len(windows))

        # 8. Denoising loop
        for step, t in enumerate(timesteps):
            self.reference.write(ref_latents, t, text, guided=cfg)
            cache = _ResidualCache(last, chunk=window)
            open_latents = _OpenLatents(latents_store, self.device, self.unet.dtype)
            sums: dict[int, torch.Tensor] = {}
            counts: dict[int, int] = {}
            for w, frames in enumerate(windows):
                pred = self._predict_window(
                    frames,
                    open_latents,
                    t,
                    text,
                    cache,
                    condition,
                    length,
                    cfg,
                    controlnet_conditioning_scale,
                )
                for j, f in enumerate(frames):
                    sums[f] = sums[f] + pred[:, j] if f in sums else pred[:, j].clone()
                    counts[f] = counts.get(f, 0) + 1
                cache.evict_after(w)
                done = sorted(f for f in sums if last[f] == w)
                if done:
                    self._step_frames(
                        done, sums, counts, open_latents, t, guidance_scale, cfg, latents_store
                    )
            self.reference.clear()
            if callback is not None:
                callback(step, len(timesteps))

        # 9. Decode (padding frames dropped)
        if output_type == "latent":
            return None
        return np.concatenate(list(self.iter_frames(latents_store, length)))

    def iter_frames(self, latents_store: Any, length: int, chunk: int = 8) -> Iterator[np.ndarray]:
        """Decoded frames of `latents_store[:length]` as (<= chunk, H, W, 3) uint8 arrays."""
        for start in range(0, length, chunk):
            stop = min(start + chunk, length)
            yield self.decode_latents(torch.from_numpy(np.asarray(latents_store[start:stop])))

    def _predict_window(
        self,
        frames: list[int],
        latents: dict[int, torch.Tensor],
        t: torch.Tensor,
        text: torch.Tensor,
        cache: _ResidualCache,
        condition: FrameSource,
        length: int,
        cfg: bool,
        scale: float,
    ) -> torch.Tensor:
        """Noise predictions (halves, f, 4, h, w) of one window; halves [uncond, cond] or [cond]."""
        halves = 2 if cfg else 1
        f = len(frames)
        down, mid = self._controlnet_residuals(
            cache, frames, latents, t, text, condition, length, scale
        )
        # (f, 4, h, w) -> (halves, 4, f, h, w); residuals (halves*f, c, h, w), halves share them
        sample = torch.stack([latents[i] for i in frames], dim=1)[None].repeat(halves, 1, 1, 1, 1)
        sample = self.scheduler.scale_model_input(sample, t)
        self.reference.state.uncond_rows = f if cfg else 0
        if self.face is not None:
            self.face.state.uncond_rows = f if cfg else 0
        pred = self.unet(
            sample,
            t,
            encoder_hidden_states=text.expand(halves, -1, -1),
            down_block_additional_residuals=[d.repeat(halves, 1, 1, 1) for d in down],
            mid_block_additional_residual=mid.repeat(halves, 1, 1, 1),
            return_dict=False,
        )[0]
        return pred.transpose(1, 2)

    def _step_frames(
        self,
        frames: list[int],
        sums: dict[int, torch.Tensor],
        counts: dict[int, int],
        latents: dict[int, torch.Tensor],
        t: torch.Tensor,
        guidance_scale: float,
        cfg: bool,
        store: Any,
    ) -> None:
        """Average, guide and DDIM-step finished frames, then write them back to `store`."""
        # (halves, n, 4, h, w): per-frame mean over the windows that covered each frame
        mean = torch.stack([sums.pop(f) / counts.pop(f) for f in frames], dim=1)
        noise = mean[0] + guidance_scale * (mean[1] - mean[0]) if cfg else mean[0]
        x = torch.stack([latents.pop(f) for f in frames])
        prev = self.scheduler.step(noise, t, x, eta=0.0).prev_sample
        prev_np = prev.float().cpu().numpy()
        for j, f in enumerate(frames):
            store[f] = prev_np[j]
