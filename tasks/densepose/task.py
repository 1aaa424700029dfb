"""DensePose stage: part maps -> MagicAnimate-coloured driving frames.

model "mesh" takes the rendered body's exact part maps; an estimator on rendered RGB
("detectron2") can replace it later behind the same outputs.
"""

from __future__ import annotations

from tasks.base import Param, StageContext, StageSpec
from tasks.densepose.colors import colorize

CHUNK = 8  # frames per zarr chunk and per batch


def compute(ctx: StageContext) -> None:
    """Stream render/parts in chunks of 8 frames into `parts` (copy) and `rgb`."""
    render = ctx.upstream["render"]
    source = render["parts"]
    num_frames, height, width = source.shape
    parts = ctx.out.create_array(
        "parts", shape=source.shape, chunks=(CHUNK, height, width), dtype="uint8"
    )
    rgb = ctx.out.create_array(
        "rgb", shape=(*source.shape, 3), chunks=(CHUNK, height, width, 3), dtype="uint8"
    )
    for start in range(0, num_frames, CHUNK):
        frames = slice(start, min(start + CHUNK, num_frames))
        chunk = source[frames]
        parts[frames] = chunk
        rgb[frames] = colorize(chunk)
    ctx.out.attrs.update(
        {
            "fps": render.attrs.get("fps", 30),
            "num_frames": num_frames,
            "height": height,
            "width": width,
            "model": ctx.params["model"],
        }
    )


SPEC = StageSpec(
    name="densepose",
    version=1,
    upstream=("render",),
    raw_inputs=(),
    params={
        "model": Param(str, choices=("mesh",), help="mesh: exact part maps from the render"),
    },
    compute=compute,
)
