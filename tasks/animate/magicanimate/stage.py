"""The `animate` stage's MagicAnimate animator: align artifact in, frame chunks out.

`tasks/animate/task.py` registers `animate_from_artifact` in its ANIMATORS (import it lazily:
it pulls in diffusers) and merges `tasks.animate.magicanimate.params.PARAMS` into its params.
Frames come out in order, one decode chunk at a time, after the denoising finished.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np
import torch
import zarr

from tasks.animate.device import device_and_dtype
from tasks.animate.magicanimate.loading import load_pipeline, resolve_weights
from tasks.animate.magicanimate.windows import padded_length
from tasks.base import StageContext

FACE_MARGIN = 0.25  # widen the face box by this fraction of its size on every side


def face_crop(
    reference: np.ndarray, face_box: list[int], margin: float = FACE_MARGIN
) -> np.ndarray:
    """The reference's face (h, w, 3) from a [top, right, bottom, left] box, widened by `margin`."""
    top, right, bottom, left = face_box
    dy, dx = int((bottom - top) * margin), int((right - left) * margin)
    h, w = reference.shape[:2]
    crop = reference[max(top - dy, 0) : min(bottom + dy, h), max(left - dx, 0) : min(right + dx, w)]
    if crop.size == 0:
        raise ValueError(f"face box {face_box} lies outside the {w}x{h} reference")
    return crop


def animate_from_artifact(ctx: StageContext) -> Iterator[np.ndarray]:
    """Frames (<= decode_chunk, h, w, 3) uint8 of `ctx.upstream["align"]` animated, in order.

    Reads `reference` (h, w, 3), `rgb` (T, h, w, 3) and attrs `face_box`; `ctx.params` holds the
    keys of `PARAMS`. Latents stream through a temporary zarr array in `ctx.workdir`, so memory
    grows with the window, not the clip.
    """
    params = ctx.params
    align = ctx.upstream["align"]
    reference = np.asarray(align["reference"][...])
    condition = align["rgb"]
    paths = resolve_weights(params["weights"], params["sd15"], params["vae"])
    device, dtype = device_and_dtype(params["device"], params["precision"], torch.float16)
    pipe = load_pipeline(paths, device=device, dtype=dtype, face_adapter=params["face_adapter"])
    if params["compile"]:  # pays a one-off compile per process; worth it over long clips
        pipe.unet, pipe.controlnet = torch.compile(pipe.unet), torch.compile(pipe.controlnet)
    face = None
    if params["face_adapter"] is not None:
        face = face_crop(reference, list(align.attrs["face_box"]))
    h, w = reference.shape[:2]
    length = int(condition.shape[0])
    total = padded_length(length, params["window"])
    with tempfile.TemporaryDirectory(dir=ctx.workdir, prefix="latents-") as tmp:
        store = zarr.open_array(
            f"{tmp}/latents.zarr",
            mode="w",
            shape=(total, 4, h // 8, w // 8),
            chunks=(params["window"], 4, h // 8, w // 8),
            dtype="float32",
        )
        pipe(
            reference,
            condition,
            num_inference_steps=params["steps"],
            guidance_scale=params["guidance"],
            window=params["window"],
            overlap=params["overlap"],
            generator=torch.Generator().manual_seed(params["seed"]),
            face_image=face,
            latents_store=store,
            output_type="latent",
            callback=lambda i, n: ctx.log.info("animate step %d/%d", i + 1, n),
        )
        yield from pipe.iter_frames(store, length, params["decode_chunk"])
