"""The `animate` stage's Wan2.2-Animate animator: render and align artifacts in, frames out.

Inputs are made as Wan2.2-Animate's own preprocessing makes them, from what the pipeline knows
instead of estimating it from a video: the pose video is the render stage's keypoints (the
exact SMPL joints) retargeted to the photo's bone lengths and drawn on a canvas of the output's
size; the face video repeats the photo's face crop (our motion has no expressions, so the
output keeps the photo's; the head still moves with the pose). Frames come out one segment at a
time (tasks/animate/wan/segments.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from PIL import Image

from tasks.align.transform import transform_points
from tasks.animate.device import device_and_dtype
from tasks.animate.wan.face import face_frame
from tasks.animate.wan.loading import load_pipeline, place_pipeline, resolve_weights
from tasks.animate.wan.photo_pose import photo_keypoints
from tasks.animate.wan.retarget import retarget
from tasks.animate.wan.segments import SegmentPlan, animate_segments
from tasks.base import StageContext
from tasks.render.openpose import draw_pose

log = logging.getLogger(__name__)

SIZE_MULTIPLE = 16  # VAE stride 8 x patch 2: frame sides must be multiples of this


def frame_size(height: int, width: int) -> tuple[int, int]:
    """The output canvas rounded down to the model's multiple of 16 pixels."""
    return (max(height // SIZE_MULTIPLE, 1) * SIZE_MULTIPLE,
            max(width // SIZE_MULTIPLE, 1) * SIZE_MULTIPLE)  # fmt: skip


def retargeted_pose(reference: np.ndarray, align, render) -> np.ndarray:
    """Driving keypoints (T, 20, 3) on the align canvas (reference, (H, W, 3)), retargeted to the
    body of the photo's person; without a photo pose, carried by align's transform unchanged."""
    driving = np.asarray(render["keypoints"][...], dtype=np.float64)
    render_size = (render.attrs["height"], render.attrs["width"])
    photo = photo_keypoints(
        reference,
        list(align.attrs["face_box"]),
        align.attrs.get("photo_box"),
        align.attrs.get("other_faces", []),
    )
    if photo is not None:
        return retarget(driving, photo.astype(np.float64), render_size, reference.shape[:2])
    log.warning("wan-animate: no pose found in the photo; the driving bones are kept")
    placed = driving.copy()
    placed[..., :2] = transform_points(driving[..., :2], np.asarray(align.attrs["transform"]))
    return placed


def animate_from_artifact(ctx: StageContext) -> Iterator[np.ndarray]:
    """Frames (n, H, W, 3) uint8, one segment at a time; H, W: the align canvas rounded to 16."""
    params = ctx.params
    align, render = ctx.upstream["align"], ctx.upstream["render"]
    weights = resolve_weights(params["weights"])
    reference = np.asarray(align["reference"][...])
    canvas = reference.shape[:2]
    height, width = frame_size(*canvas)
    keypoints = retargeted_pose(reference, align, render)
    keypoints[..., :2] *= (width / canvas[1], height / canvas[0])
    device, dtype = device_and_dtype(params["device"], params["precision"], torch.bfloat16)
    pipe = load_pipeline(weights, dtype)
    place_pipeline(pipe, device, params["wan_offload"], params["wan_vae_tiling"])
    face_size = pipe.transformer.config.motion_encoder_size
    face = face_frame(reference, list(align.attrs["face_box"]), face_size)
    yield from animate_segments(
        pipe,
        reference=Image.fromarray(cv2.resize(reference, (width, height))),
        pose_frame=lambda i: Image.fromarray(draw_pose(height, width, keypoints[i])),
        face=Image.fromarray(face),
        plan=SegmentPlan(len(keypoints), params["wan_segment"], params["wan_carry"]),
        height=height,
        width=width,
        steps=params["wan_steps"],
        guidance=params["wan_guidance"],
        prompt=params["wan_prompt"],
        generator=torch.Generator("cpu").manual_seed(params["seed"]),
        progress=ctx.log,
    )
