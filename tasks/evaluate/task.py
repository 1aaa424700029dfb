"""Evaluate stage: per-clip motion, identity and body metrics, keyed by what it measures.

Reads the audio beats, the motion's joint positions, the aligned reference photo and driving part
maps, and the animated frames; writes the scalar metrics into attrs["metrics"] and the per-clip
vectors set-level metrics (FID, diversity) need. Gates are not params here: a threshold change
must not re-measure a clip.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import zarr

from tasks.base import Param, StageContext, StageSpec
from tasks.body.beats import beat_alignment_score, motion_beats
from tasks.evaluate.body import DrawnBodies, background_change, check_frame, read_photo
from tasks.evaluate.identity import face_embedding, identity_distances, largest_face
from tasks.evaluate.motion import (
    foot_skating_ratio,
    geometric_features,
    kinetic_features,
    mean_jerk,
    physical_foot_contact,
    root_relative,
)
from tasks.evaluate.segment import PersonSegmenter
from tasks.evaluate.video import match_size

BLOCK = 16  # frames decoded per zarr read
FILL_QUANTILE = 0.25  # fill quality is that of the plate's worst quarter of frames: a smear shows
# where the dancer leaves most of the plate bare, and the frames where it covers the plate dilute


def strided_frames(frames: zarr.Array, stride: int) -> Iterator[np.ndarray]:
    """Every `stride`-th (H, W, 3) frame of a (T, H, W, 3) array, read BLOCK frames at a time."""
    for start in range(0, frames.shape[0], BLOCK):
        block = np.asarray(frames[start : start + BLOCK])
        first = (-start) % stride
        yield from block[first::stride]


def motion_metrics(
    joints: np.ndarray, beats_s: np.ndarray, fps: float, contact_height: float, skate_speed: float
) -> dict[str, float]:
    """Scalar motion metrics of one clip: (T, 24, 3) joints, music beats in seconds."""
    return {
        "bas": beat_alignment_score(joints, beats_s * fps, fps),
        "pfc": physical_foot_contact(joints, fps),
        "foot_skating": foot_skating_ratio(
            joints, fps, contact_height=contact_height, skate_speed=skate_speed
        ),
        "jerk": mean_jerk(joints, fps),
    }


def _identity(ctx: StageContext, stride: int) -> dict[str, float]:
    """Mean face distance to the reference over sampled frames, and the fraction without a face."""
    reference = np.asarray(ctx.upstream["align"]["reference"])
    frames = ctx.upstream["animate"]["frames"]
    box = largest_face(reference)
    if box is None:
        ctx.log.warning("evaluate: no face in the reference photo; identity not measured")
        return {"identity": float("nan"), "identity_missing": 1.0}
    dist = identity_distances(face_embedding(reference, box), strided_frames(frames, stride))
    ctx.out.create_array("identity", shape=dist.shape, dtype="float64")[:] = dist
    missing = float(np.isnan(dist).mean()) if dist.size else 1.0
    mean = float(np.nanmean(dist)) if missing < 1.0 else float("nan")
    return {"identity": mean, "identity_missing": missing}


def _body(ctx: StageContext, stride: int) -> dict[str, float]:
    """What a person sees (tasks.evaluate.body) on every `stride`-th frame: median coverage, fill
    quality of the worst quarter of the frames that show the plate (FILL_QUANTILE), mean
    leftovers, fragments per frame and background change between samples.

    Frames of another size than the aligned photo (the preview's side-by-side) are resized to
    it, so the body is looked for where the driving video puts it.
    """
    align, animate = ctx.upstream["align"], ctx.upstream["animate"]
    parts, frames = align["parts"], animate["frames"]
    rows, changes, previous = [], [], None
    with PersonSegmenter() as segment:
        photo = read_photo(np.asarray(align["reference"]), np.asarray(parts[0]), segment)
        drawn_at = DrawnBodies(align, animate, photo)
        sampled = zip(
            range(0, frames.shape[0], stride), strided_frames(frames, stride), strict=True
        )
        for index, raw in sampled:
            frame = match_size(raw, parts.shape[1:])
            drawn = drawn_at(index)
            dancer = segment.near(frame, drawn.parts > 0).mask
            check = check_frame(frame, dancer, drawn, photo)
            rows.append((check.coverage, check.leftovers, check.fragments, check.fill_quality))
            person = check.dancer | (drawn.parts > 0)
            if previous is not None:
                changes.append(background_change(previous[0], frame, previous[1], person))
            previous = (frame, person)
    values, nan = np.asarray(rows, dtype=np.float64).reshape(-1, 4), float("nan")
    for column, name in enumerate(("coverage", "leftovers", "fragments", "fill_quality")):
        ctx.out.create_array(name, shape=(len(values),), dtype="float64")[:] = values[:, column]
    fill = values[:, 3][np.isfinite(values[:, 3])]
    return {
        # No driving body in any sample: unmeasured (NaN), so the coverage gate flags the clip.
        "coverage": float(np.nanmedian(values[:, 0])) if np.isfinite(values[:, 0]).any() else nan,
        "leftovers": float(values[:, 1].mean()),
        "fragments": float(values[:, 2].mean()),
        # No plate seen in any sample: the dancer always stands where the photo's person did.
        "fill_quality": float(np.quantile(fill, FILL_QUANTILE)) if fill.size else 1.0,
        "background_change": float(np.mean(changes)) if changes else 0.0,
    }


def compute(ctx: StageContext) -> None:
    motion = ctx.upstream["motion"]
    fps = float(motion.attrs["fps"])
    joints = np.asarray(motion["joints"], dtype=np.float64)
    beats_s = np.asarray(ctx.upstream["audio"]["beats"], dtype=np.float64)
    p = ctx.params
    metrics = motion_metrics(joints, beats_s, fps, p["contact_height"], p["skate_speed"])
    if "align" in ctx.upstream and "animate" in ctx.upstream:
        metrics |= _identity(ctx, p["identity_stride"])
        metrics |= _body(ctx, p["body_stride"])
    beats = motion_beats(joints)
    ctx.out.create_array("motion_beats", shape=beats.shape, dtype="int64")[:] = beats
    relative = root_relative(joints)
    ctx.out.create_array("kinetic", shape=(72,), dtype="float32")[:] = kinetic_features(
        relative, fps
    )
    ctx.out.create_array("geometric", shape=(32,), dtype="float32")[:] = geometric_features(
        relative
    )
    finite = {k: (None if np.isnan(v) else v) for k, v in metrics.items()}  # JSON has no NaN
    strides = {"identity_stride": p["identity_stride"], "body_stride": p["body_stride"]}
    ctx.out.attrs.update({"fps": fps, **strides, "metrics": finite})


SPEC = StageSpec(
    name="evaluate",
    version=13,  # 5: parts where the cut-out drew the body; forearms unlike the body it covers;
    # 6: each limb part where its bone was drawn (limbs kept in the photo's pose); 7: a piece
    # on the drawn body is no fragment; 8: nor is the photo's background shown as it was;
    # 9: the photo's person drawn in place (a seated photo's still legs) is the body; 10: and
    # so is the photo's person where its bones carried it (hands the torso holds); 11: fill
    # quality of the worst quarter of frames, not the median (a smear shows where the dancer
    # leaves the most plate bare); 12: each frame's person detected afresh (tracked, it jumped
    # to multi1's other woman); 13: and looked for again closer around the body when the
    # window around it showed someone else
    upstream=("audio", "motion", "align", "animate"),
    raw_inputs=(),
    params={
        "identity_stride": Param(int, min=1, help="measure identity on every n-th frame"),
        "body_stride": Param(int, min=1, help="measure coverage, leftovers ... every n-th frame"),
        "contact_height": Param(float, min=0.0, help="foot-skating contact height, metres"),
        "skate_speed": Param(float, min=0.0, help="foot-skating sliding speed, m/s"),
    },
    compute=compute,
)
