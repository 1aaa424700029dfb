"""DensePose stage: part maps -> MagicAnimate-coloured driving frames.

model "mesh" takes the rendered body's exact part maps; "detectron2" estimates them with
DensePose R-CNN on the shaded RGB render (render.preview=true; tasks/densepose/detectron2.py),
behind the same outputs.
"""

from __future__ import annotations

from tasks.base import InputError, Model, Package, Param, StageContext, StageSpec, Weights
from tasks.densepose.colors import colorize
from tasks.densepose.detectron2 import DENSEPOSE_PIP, DETECTRON2_PIP, DensePoseRCNN

CHUNK = 8  # frames per zarr chunk and per batch


def compute(ctx: StageContext) -> None:
    """Stream render/parts in chunks of 8 frames into `parts` (copy) and `rgb`."""
    render = ctx.upstream["render"]
    source = render["parts"]
    num_frames, height, width = source.shape
    estimator = None
    if ctx.params["model"] == "detectron2":
        if "preview" not in render:
            raise InputError(
                "densepose.model=detectron2 runs on the shaded render: --set render.preview=true"
            )
        estimator = DensePoseRCNN(
            ctx.params["weights"], ctx.params["config"], ctx.params["min_score"]
        )
    parts = ctx.out.create_array(
        "parts", shape=source.shape, chunks=(CHUNK, height, width), dtype="uint8"
    )
    rgb = ctx.out.create_array(
        "rgb", shape=(*source.shape, 3), chunks=(CHUNK, height, width, 3), dtype="uint8"
    )
    for start in range(0, num_frames, CHUNK):
        frames = slice(start, min(start + CHUNK, num_frames))
        chunk = source[frames] if estimator is None else estimator.parts(render["preview"][frames])
        parts[frames] = chunk
        rgb[frames] = colorize(chunk)
    ctx.out.attrs.update(
        {
            "fps": render.attrs["fps"],
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
        "model": Param(
            str, choices=("mesh", "detectron2"), help="mesh: exact parts; detectron2: R-CNN"
        ),
        "weights": Param(
            str, nullable=True, path=True, help="detectron2: DensePose R-CNN checkpoint .pkl"
        ),
        "config": Param(str, nullable=True, path=True, help="detectron2: DensePose config .yaml"),
        "min_score": Param(float, min=0.0, max=1.0, help="detectron2: person score threshold"),
    },
    compute=compute,
    models={
        "mesh": Model(),
        "detectron2": Model(
            params=("weights", "config", "min_score"),
            weights=(
                Weights(
                    "weights",
                    "a DensePose R-CNN checkpoint (model_final_162be9.pkl, DensePose model zoo)",
                    packages=(
                        Package("detectron2", DETECTRON2_PIP),
                        Package("densepose", DENSEPOSE_PIP),
                    ),
                ),
                Weights("config", "a DensePose config (densepose_rcnn_R_50_FPN_s1x.yaml)"),
            ),
        ),
    },
)
