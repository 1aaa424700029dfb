"""Render stage: motion (poses, trans) -> per-frame DensePose part maps of a skinned body."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tasks.base import Model, Param, StageContext, StageSpec, Weights
from tasks.render.body import Body, builtin_body, pose_body
from tasks.render.camera import Camera, fit_camera, frame_size, project
from tasks.render.openpose import draw_pose
from tasks.render.pose_keypoints import pose_keypoints
from tasks.render.raster import part_maps, rasterize, shaded_preview
from tasks.render.skinning import global_transforms

CHUNK = 8  # frames per zarr chunk and per render batch
Poser = Callable[[Body, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _body(params: dict) -> tuple[Body, Poser]:
    """render.body: the built-in body, or SMPL from the user's model files (smplx and torch are
    imported only then, keeping them off every other run's start-up)."""
    if params["body"] == "smpl":
        from tasks.render.smpl import load_smpl_body, pose_smpl

        return load_smpl_body(params["smpl_dir"], params["betas"], params["smpl_uv"]), pose_smpl
    return builtin_body(), pose_body


def _frame_bounds(
    ctx: StageContext, body: Body, pose: Poser
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame box of the posed mesh, lower and upper (T, 3), and the root (T, 3), chunk-wise."""
    motion = ctx.upstream["motion"]
    poses, trans = motion["poses"], motion["trans"]
    lower, upper, roots = [], [], []
    for start in range(0, poses.shape[0], CHUNK):
        root = np.asarray(trans[start : start + CHUNK], dtype=np.float64)
        verts, _ = pose(body, np.asarray(poses[start : start + CHUNK]), root)
        lower.append(verts.min(axis=1))
        upper.append(verts.max(axis=1))
        roots.append(root)
    return np.concatenate(lower), np.concatenate(upper), np.concatenate(roots)


def _render_chunks(
    ctx: StageContext, body: Body, pose: Poser, camera: Camera, preview: bool
) -> None:
    """Write parts (T, H, W), joints2d (T, 24, 2), keypoints (T, 20, 3) with their pose images
    pose (T, H, W, 3) (OpenPose-style, as Wan2.2-Animate draws them), optionally preview."""
    motion = ctx.upstream["motion"]
    poses, trans = motion["poses"], motion["trans"]
    num_frames, height, width = poses.shape[0], camera.height, camera.width
    parts = ctx.out.create_array(
        "parts", shape=(num_frames, height, width), chunks=(CHUNK, height, width), dtype="uint8"
    )
    joints2d = ctx.out.create_array(
        "joints2d", shape=(num_frames, 24, 2), chunks=(1024, 24, 2), dtype="float32"
    )
    keypoints = ctx.out.create_array(
        "keypoints", shape=(num_frames, 20, 3), chunks=(1024, 20, 3), dtype="float32"
    )
    pose_images = ctx.out.create_array(
        "pose",
        shape=(num_frames, height, width, 3),
        chunks=(CHUNK, height, width, 3),
        dtype="uint8",
    )
    rgb = None
    if preview:
        rgb = ctx.out.create_array(
            "preview",
            shape=(num_frames, height, width, 3),
            chunks=(CHUNK, height, width, 3),
            dtype="uint8",
        )
    for start in range(0, num_frames, CHUNK):
        frames = slice(start, min(start + CHUNK, num_frames))
        chunk_poses, chunk_trans = np.asarray(poses[frames]), np.asarray(trans[frames])
        verts, joints = pose(body, chunk_poses, chunk_trans)
        face_ids = rasterize(project(verts, camera, frames), body.faces, height, width)
        parts[frames] = part_maps(face_ids, body.face_parts)
        joints2d[frames] = project(joints, camera, frames)[..., :2]
        rot, pos = global_transforms(chunk_poses, chunk_trans)
        points = pose_keypoints(rot, pos, camera, frames)
        keypoints[frames] = points
        pose_images[frames] = np.stack([draw_pose(height, width, p) for p in points])
        if rgb is not None:
            rgb[frames] = shaded_preview(face_ids, verts, body.faces, body.face_parts)


def compute(ctx: StageContext) -> None:
    """Frame the whole clip once, then render it in chunks of 8 frames."""
    params = ctx.params
    body, pose = _body(params)
    height, width = frame_size(params["resolution"], params["aspect"])
    lower, upper, root = _frame_bounds(ctx, body, pose)
    camera = fit_camera(
        lower,
        upper,
        root,
        height=height,
        width=width,
        margin=params["margin"],
        follow=params["camera"] == "follow",
    )
    _render_chunks(ctx, body, pose, camera, params["preview"])
    if params["camera"] == "follow":
        positions = ctx.out.create_array(
            "camera_position", shape=camera.positions.shape, dtype="float32"
        )
        positions[:] = camera.positions
    motion_attrs = ctx.upstream["motion"].attrs
    ctx.out.attrs.update(
        {
            "fps": motion_attrs["fps"],
            "num_frames": len(root),
            "height": height,
            "width": width,
            "body": params["body"],
            "camera": {**camera.as_dict(), "mode": params["camera"]},
        }
    )


SPEC = StageSpec(
    name="render",
    version=3,  # 2: OpenPose-style keypoints and pose images; 3: face points seen in profile
    upstream=("motion",),
    raw_inputs=(),
    params={
        "body": Param(str, choices=("builtin", "smpl"), help="builtin body or SMPL (smpl_dir)"),
        "smpl_dir": Param(
            str,
            nullable=True,
            path=True,
            env="MUSIC2DANCE_SMPL_DIR",
            help="SMPL model file or folder; null: $MUSIC2DANCE_SMPL_DIR",
        ),
        "betas": Param(
            (list, str), help="SMPL shape coefficients, a list or comma string; []: mean shape"
        ),
        "smpl_uv": Param(
            str,
            nullable=True,
            path=True,
            help="DensePose UV_Processed.mat; null: parts from SMPL weights",
        ),
        "resolution": Param(int, min=64, max=2048, help="long side of the frames, pixels"),
        "aspect": Param(
            str, choices=("square", "portrait"), help="square or portrait 9:16 (the output's too)"
        ),
        "margin": Param(float, min=0.0, max=1.0, help="padding around the body, fraction"),
        "camera": Param(str, choices=("fixed", "follow"), help="fixed framing or follow root"),
        "preview": Param(bool, help="also write a shaded RGB preview"),
    },
    compute=compute,
    models={
        "builtin": Model(),
        "smpl": Model(
            params=("smpl_dir", "betas", "smpl_uv"),
            weights=(Weights("smpl_dir", "SMPL model files (a .pkl/.npz file or its folder)"),),
        ),
    },
    model_param="body",
)
