"""Align stage: place the photo on the output canvas (canvas.py decides its size) and warp the
driving video by one similarity transform onto the photo's head."""

from __future__ import annotations

import numpy as np

from tasks.align.canvas import (
    canvas_size,
    context_columns,
    place_photo,
    placement,
    scaled_photo,
)
from tasks.align.face import choose_person, faces_in_file, load_reference
from tasks.align.transform import (
    BACKGROUND_RGB,
    fit_transform,
    head_boxes,
    transform_points,
    warp_frames,
)
from tasks.base import InputError, Param, StageContext, StageSpec

CHUNK = 8  # frames per zarr chunk and per warp batch


def _driving_head_boxes(parts) -> np.ndarray:
    """(T, 4) per-frame head bounds of the driving part maps, read chunk-wise."""
    return np.concatenate(
        [head_boxes(parts[start : start + CHUNK]) for start in range(0, parts.shape[0], CHUNK)]
    )


def compute(ctx: StageContext) -> None:
    """Write parts (T,h,w), rgb (T,h,w,3), joints2d (T,24,2), reference (h,w,3) and attrs;
    photo_box: where the real photo lies in reference; other_faces: people not animated. Where
    the canvas crops the photo's sides, also context (h,W,3), the scaled photo around the crop
    (`context_columns`), with context_left (reference = context[:, context_left:context_left+w])
    and context_faces (the people not animated, in context px)."""
    if ctx.image_path is None:
        raise InputError("no reference photo given (pass --image PATH)")
    photo = load_reference(ctx.image_path)
    name = str(ctx.image_path)
    faces = faces_in_file(ctx.image_path)
    chosen = choose_person(faces, photo.shape[1], name, ctx.params["person"], ctx.log)
    face = faces[chosen]
    densepose = ctx.upstream["densepose"]
    source_parts, source_rgb = densepose["parts"], densepose["rgb"]
    size = canvas_size(ctx.params["resolution"], source_parts.shape[1:])
    where = placement(photo.shape[:2], size, face)
    face_out = where.face(face)
    others = [where.face(box) for i, box in enumerate(faces) if i != chosen]
    others = [box for box in others if box.right > 0 and box.left < size[1]]

    matrix = fit_transform(_driving_head_boxes(source_parts), face_out, ctx.params["head_to_face"])
    ctx.log.info("align: scale %.3f, shift (%.1f, %.1f)", matrix[0, 0], *matrix[:, 2])

    num_frames, (height, width) = source_parts.shape[0], size
    parts = ctx.out.create_array(
        "parts", shape=(num_frames, height, width), chunks=(CHUNK, height, width), dtype="uint8"
    )
    rgb = ctx.out.create_array(
        "rgb",
        shape=(num_frames, height, width, 3),
        chunks=(CHUNK, height, width, 3),
        dtype="uint8",
    )
    for start in range(0, num_frames, CHUNK):
        frames = slice(start, min(start + CHUNK, num_frames))
        parts[frames] = warp_frames(source_parts[frames], matrix, size, border=0)
        rgb[frames] = warp_frames(source_rgb[frames], matrix, size, border=BACKGROUND_RGB)

    source_joints = ctx.upstream["render"]["joints2d"][:]
    joints2d = ctx.out.create_array(
        "joints2d", shape=source_joints.shape, chunks=(1024, 24, 2), dtype="float32"
    )
    joints2d[:] = transform_points(source_joints.astype(np.float32), matrix)
    reference = ctx.out.create_array("reference", shape=(height, width, 3), dtype="uint8")
    reference[:] = place_photo(photo, where, size)
    ctx.out.attrs.update(
        {
            "transform": matrix.tolist(),
            "face_box_reference": list(face),
            "face_box": list(face_out),
            "photo_box": list(where.box),
            "other_faces": [list(box) for box in others],
            "size": [height, width],
            "fps": densepose.attrs["fps"],
            "num_frames": num_frames,
            "model": ctx.params["model"],
        }
    )
    if where.shift_x < 0:  # an arm the crop cuts is still whole in the photo: keep it readable
        whole = scaled_photo(photo, where)
        columns = context_columns(where, size, whole.shape[1])
        context = ctx.out.create_array("context", shape=(height, len(columns), 3), dtype="uint8")
        context[:] = whole[:, columns.start : columns.stop]
        in_context = where._replace(shift_x=-columns.start)  # photo px -> context px
        others_in_context = [in_context.face(box) for i, box in enumerate(faces) if i != chosen]
        ctx.out.attrs.update(
            {
                "context_left": -int(where.shift_x) - columns.start,
                "context_faces": [
                    list(box)
                    for box in others_in_context
                    if box.right > 0 and box.left < len(columns)
                ],
            }
        )


SPEC = StageSpec(
    name="align",
    version=3,  # 3: context, the photo around the crop where the canvas crops its sides
    upstream=("densepose", "render"),
    raw_inputs=("image",),
    params={
        "resolution": Param(
            int, min=64, max=2048, help="long side of the output, pixels (aspect: render.aspect)"
        ),
        "head_to_face": Param(
            float, min=1.0, max=3.0, help="head height (parts 23, 24) / face box height"
        ),
        "model": Param(str, choices=("face_recognition",), help="face detector"),
        "person": Param(
            int, min=0, max=64, help="0: largest, most central person; N: N-th from the left"
        ),
    },
    compute=compute,
)
