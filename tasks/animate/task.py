"""Animate stage: pick an animator by `animate.model`, write its frames and the final mp4.

An animator is a function of the stage context that yields the output frames in order, in
chunks of (N, h, W, 3) uint8; this module owns the zarr array and the video. To add a model,
add an entry to ANIMATORS (import heavy dependencies inside the function).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from tasks.animate.magicanimate.params import MODEL as MAGICANIMATE_MODEL
from tasks.animate.magicanimate.params import PARAMS as MAGICANIMATE_PARAMS
from tasks.animate.preview import labelled_reference, side_by_side
from tasks.animate.video import VideoWriter
from tasks.animate.wan.params import MODEL as WAN_MODEL
from tasks.animate.wan.params import PARAMS as WAN_PARAMS
from tasks.base import InputError, Model, Param, StageContext, StageSpec

CHUNK = 8  # frames per zarr chunk and per preview batch
VIDEO_NAME = "video.mp4"

Animator = Callable[[StageContext], Iterator[np.ndarray]]


def preview_frames(ctx: StageContext) -> Iterator[np.ndarray]:
    """Reference photo beside the aligned DensePose video: (N, h, 2w, 3) chunks."""
    align = ctx.upstream["align"]
    left = labelled_reference(align["reference"][:])
    rgb = align["rgb"]
    for start in range(0, rgb.shape[0], CHUNK):
        yield side_by_side(left, rgb[start : start + CHUNK])


def cutout_frames(ctx: StageContext) -> Iterator[np.ndarray]:
    """The reference person cut out and skinned to the driving skeleton: (N, h, w, 3) chunks."""
    from tasks.animate.cutout import CutoutAnimator
    from tasks.animate.cutout.window import Window

    align = ctx.upstream["align"]
    parts, joints = align["parts"], align["joints2d"]
    animator = CutoutAnimator(fit_shape=ctx.params["fit_shape"], mesh_step=ctx.params["mesh_step"])
    if "context" in align:  # the canvas crops the photo's sides: dance on the whole photo
        reference = align["context"][:]
        window = Window(align.attrs["context_left"], parts.shape[2], reference.shape[1])
        photo_box, other_faces = None, align.attrs["context_faces"]
    else:
        reference = align["reference"][:]
        window = Window(0, parts.shape[2], parts.shape[2])
        photo_box, other_faces = align.attrs.get("photo_box"), align.attrs.get("other_faces", [])
    animator.prepare(
        reference,
        window.box_to_context(tuple(align.attrs["face_box"])),
        window.widen(parts[:1])[0],
        window.to_context(joints[0]),
        photo_box=photo_box,
        other_faces=other_faces,
        clip_joints=window.to_context(joints[:]),
    )
    # where each frame draws the photo's skeleton: framed as the photo, not where the driving
    # body stands (evaluation compares the two there, and with the photo's own skeleton)
    photo_joints = ctx.out.create_array("photo_joints2d", shape=(24, 2), dtype="float32")
    photo_joints[:] = window.to_canvas(animator.body.joints)
    drawn = ctx.out.create_array(
        "joints2d", shape=joints.shape, chunks=(CHUNK, 24, 2), dtype="float32"
    )
    for start in range(0, parts.shape[0], CHUNK):
        chunk = slice(start, start + CHUNK)
        frames, tracked = animator.render_tracked(
            window.widen(parts[chunk]), window.to_context(joints[chunk])
        )
        drawn[chunk] = window.to_canvas(tracked)
        yield window.crop(frames)


def magicanimate_frames(ctx: StageContext) -> Iterator[np.ndarray]:
    """MagicAnimate (appearance encoder + DensePose ControlNet + temporal attention) from the
    user's local weights; diffusers is imported only here."""
    from tasks.animate.magicanimate.stage import animate_from_artifact

    return animate_from_artifact(ctx)


def wan_frames(ctx: StageContext) -> Iterator[np.ndarray]:
    """Wan2.2-Animate-14B (diffusers' WanAnimatePipeline) on the render stage's pose,
    retargeted to the photo, one segment at a time; diffusers is imported only here."""
    from tasks.animate.wan.stage import animate_from_artifact

    return animate_from_artifact(ctx)


ANIMATORS: dict[str, Animator] = {
    "cutout": cutout_frames,
    "preview": preview_frames,
    "magicanimate": magicanimate_frames,
    "wan-animate": wan_frames,
}


def compute(ctx: StageContext) -> None:
    """Write `frames` (T, h, W, 3) and `video.mp4` (H.264 + AAC music) into ctx.workdir."""
    if ctx.audio_path is None:
        raise InputError("no audio file given (pass --audio PATH)")
    align = ctx.upstream["align"]
    num_frames, fps = align["rgb"].shape[0], align.attrs["fps"]
    chunks = ANIMATORS[ctx.params["model"]](ctx)
    first = next(chunks, None)
    if first is None:
        raise ValueError("the animator produced no frames (empty driving video)")
    height, width = first.shape[1:3]
    frames = ctx.out.create_array(
        "frames",
        shape=(num_frames, height, width, 3),
        chunks=(CHUNK, height, width, 3),
        dtype="uint8",
    )
    with VideoWriter(
        ctx.workdir / VIDEO_NAME,
        size=(height, width),
        num_frames=num_frames,
        fps=fps,
        audio_path=ctx.audio_path,
        crf=ctx.params["crf"],
    ) as writer:
        for chunk in itertools.chain([first], chunks):
            start = writer.frames_written
            frames[start : start + len(chunk)] = chunk
            writer.write(chunk)
    ctx.out.attrs.update(
        {
            "fps": fps,
            "model": ctx.params["model"],
            "num_frames": num_frames,
            "height": height,
            "width": width,
            "video": VIDEO_NAME,
        }
    )


SPEC = StageSpec(
    name="animate",
    # 27: where the canvas crops the photo's sides, the cut-out dances on the whole photo (align's
    # context): demo4's arms, cut by a portrait crop, were held in the photo's pose; 26: a held
    # arm lying across the body is drawn as photographed, never filled as if it moved away
    # (monalisa's crossed hands showed as smeared rows of her dress); 25: lines meeting the
    # plate's hole are carried into its outer band first (the astronaut's flag runs on, not cut by
    # a band of wall); 24: a point the edge split gives to an arm goes to the
    # arm bone it is nearest, not the one whose flood reached it (a strip of multi1's forearm hung
    # from her upper arm); 23: what the free arm hides is read with the held arm as an arm (as
    # torso, it widened the body mirrored about the spine: the astronaut's chest patch showed
    # twice); 22: the split points the body kept go to the arm where their chromaticity says so (the
    # forearm's shaded side stayed on multi1's hip as a dark strip); 21: an arm whose wrist the
    # photo hides (behind the astronaut's helmet) keeps the photo's pose (swung, it carried a piece
    # of the helmet for a forearm); 20: an arm's shadow on the body is lit to its cloth's level
    # (redrawn from the row's cloth, demo4's shirt folds became jagged streaks); 19: it was redrawn
    # and lends the underlay nothing (a dark strip stayed on multi1's hip); 18: a cast shadow's soft
    # edge is filled with it (no dark outline of her head on multi1's wall); 17: each finer level of
    # the patch fill is rebuilt from its own patches before its search, the fill's light moves only
    # by its step along the hole's edge (no head of sky in dalle8's mist, no smooth blob among his
    # rocks); 16: the patch fill starts from the membrane too (dalle8's dark blob of shadow,
    # dalle2's starfield in the nebula came from Telea's start); 15: the plate's light is a membrane
    # (no step where dark and lit sides meet), the shadow's wall colour is read where it is lit; 14:
    # records the photo's skeleton (photo_joints2d); 13: a leg's hidden edge reaches its nearest
    # free edge, the underlay's sides slope (no blocks of garment); 12: what an arm hides below the
    # hips is carried by the nearest leg (a hand on the thigh), a hidden edge between free ones runs
    # straight (hands on hips), the edge split never moves a point from one arm bone to another; 11:
    # the plate's pyramid starts at 48 px again (64 left steps of light across walls); 10: a held
    # arm is drawn by the torso, the underlay mirrors rows about the spine; 9: an arm the photo's
    # side cuts is held, unsure limb landmarks on the mask count; 8: the plate's fill keeps texture,
    # its light match is bounded; 7: the torso carries the tops of the thighs beneath the legs; 6: a
    # seated photo's hands on its knees leave with the arms; 5: seated legs stay in the plate; 4:
    # records joints2d
    version=27,
    upstream=("align", "audio", "render"),  # render: wan-animate's pose keypoints
    raw_inputs=("image", "audio"),
    params={
        "model": Param(
            str, choices=tuple(ANIMATORS), help="cutout | preview | magicanimate | wan-animate"
        ),
        "crf": Param(int, min=0, max=51, help="H.264 quality, lower is better"),
        "fit_shape": Param(
            float, min=0.0, max=1.0, help="cutout: limb thickness, 0 photo's .. 1 driving body's"
        ),
        "mesh_step": Param(int, min=0, max=64, help="cutout: mesh cell px, 0 = auto"),
    }
    | MAGICANIMATE_PARAMS
    | WAN_PARAMS,
    compute=compute,
    models={
        "cutout": Model(params=("fit_shape", "mesh_step")),
        "preview": Model(),
        "magicanimate": MAGICANIMATE_MODEL,
        "wan-animate": WAN_MODEL,
    },
)
