"""Cutout animator quality and speed on scikit-image's astronaut photo, driven by a real dance.

Usage: python bench/cutout_quality.py [--frames 96] [--resolution 512] [--save out.mp4]
Builds the driving video the way the pipeline does (beat choreographer -> built-in body render ->
the align stage's similarity putting the head on the photo's face), animates the photo in chunks
of 8 frames and prints: identity (face embedding distance, median, and the share of frames with
a face found), motion fidelity (silhouette IoU, median), background stability (mean abs change
/255), frames/s of `render` and seconds of `prepare`; then the same for harder references (cut
off, small, busy)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.align.face import FaceBox, detect_face  # noqa: E402
from tasks.align.transform import (  # noqa: E402
    fit_transform,
    head_boxes,
    transform_points,
    warp_frames,
)
from tasks.animate.cutout import quality  # noqa: E402
from tasks.animate.cutout.animator import CutoutAnimator  # noqa: E402
from tasks.animate.cutout.bones import part_to_bone  # noqa: E402
from tasks.base import InputError  # noqa: E402
from tasks.motion.choreographer import choreograph  # noqa: E402
from tasks.render.body import builtin_body, pose_body  # noqa: E402
from tasks.render.camera import fit_camera, project  # noqa: E402
from tasks.render.raster import part_maps, rasterize  # noqa: E402

CHUNK = 8
FPS = 30.0


def driving_video(frames: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Parts (T, size, size) uint8 and joints2d (T, 24, 2) of a 120 bpm dance, fixed camera."""
    beats = np.arange(0.0, frames / FPS + 1.0, 0.5)
    onset = np.full(frames, 0.6, dtype=np.float32)
    poses, trans = choreograph(onset, beats, 120.0, frames, FPS, seed=seed, energy=1.0)
    body = builtin_body()
    verts, joints = pose_body(body, poses, trans)
    camera = fit_camera(
        verts.min(1), verts.max(1), trans, height=size, width=size, margin=0.1, follow=False
    )
    span = slice(0, frames)
    parts = part_maps(
        rasterize(project(verts, camera, span), body.faces, size, size), body.face_parts
    )
    return parts, project(joints, camera, span)[..., :2]


def align_to_face(
    parts: np.ndarray, joints: np.ndarray, face_box: tuple, head_to_face: float = 1.7
) -> tuple[np.ndarray, np.ndarray]:
    """Warp parts (T, h, w) and joints (T, 24, 2) with the align stage's one similarity that
    puts the driving head on the reference head implied by the face box (t, r, b, l)."""
    matrix = fit_transform(head_boxes(parts), FaceBox(*face_box), head_to_face)
    warped = warp_frames(parts, matrix, parts.shape[1:], 0)
    return warped, transform_points(joints.astype(np.float32), matrix)


def evaluate(
    reference: np.ndarray,
    face_box: tuple,
    frames: int,
    label: str,
    save: Path | None,
    fit_shape: float,
) -> None:
    """Animate `reference` (h, w, 3) on a dance of `frames` frames and print the measures."""
    size = reference.shape[0]
    try:
        parts, joints = align_to_face(*driving_video(frames, size), face_box)
        animator = CutoutAnimator(fit_shape=fit_shape)
        start = time.perf_counter()
        animator.prepare(reference, face_box, parts[0], joints[0])
        prepare_s = time.perf_counter() - start
    except InputError as error:
        print(f"{label:>10}: InputError: {error}")  # noqa: T201
        return
    reference_face = quality.reference_encoding(reference, face_box)
    shown = quality.shown_bones(animator.labels)
    lut = part_to_bone()
    writer = None
    if save is not None:
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        writer = cv2.VideoWriter(str(save), fourcc, FPS, (2 * size, size))
    distances, ious, ious_all, changes, render_s = [], [], [], [], 0.0
    previous = None
    for begin in range(0, frames, CHUNK):
        chunk = slice(begin, min(begin + CHUNK, frames))
        start = time.perf_counter()
        video, alpha = animator.render_layers(parts[chunk], joints[chunk])
        render_s += time.perf_counter() - start
        for t in range(len(video)):
            bones = lut[parts[chunk][t]]
            ious.append(quality.silhouette_iou(alpha[t], bones, shown))
            ious_all.append(quality.silhouette_iou(alpha[t], bones))
            if (begin + t) % 4 == 0:
                distances.append(quality.face_distance(video[t], reference_face))
            if previous is not None:
                changes.append(
                    quality.background_change(previous[0], video[t], previous[1], alpha[t])
                )
            previous = (video[t], alpha[t])
            if writer is not None:
                palette = cv2.applyColorMap(
                    (parts[chunk][t] * 10).astype(np.uint8), cv2.COLORMAP_VIRIDIS
                )
                writer.write(np.concatenate([video[t][..., ::-1], palette], axis=1))
    if writer is not None:
        writer.release()
    found = np.isfinite(distances)
    print(  # noqa: T201
        f"{label:>10}: mask {animator.body.source}, prepare {prepare_s:.2f} s, "
        f"render {frames / render_s:.1f} frames/s at {size}x{size}; identity median "
        f"{np.nanmedian(distances) if found.any() else float('nan'):.3f} "
        f"(face found {found.mean():.0%}); IoU median {np.median(ious):.3f} "
        f"(all parts {np.median(ious_all):.3f}); background change "
        f"mean {np.mean(changes):.4f}/255 max {np.max(changes):.4f}/255"
    )


def hard_references(photo: np.ndarray, face_box: tuple) -> dict[str, tuple[np.ndarray, tuple]]:
    """Cut off (only head and shoulders in frame), very small person, busy background versions
    of photo (h, w, 3), each with its face box (t, r, b, l)."""
    size = photo.shape[0]
    top, right, bottom, left = face_box
    shift = size * 2 // 5
    cut = np.concatenate([np.repeat(photo[:1], shift, axis=0), photo[: size - shift]], axis=0)
    small = np.full_like(photo, 200)
    quarter = cv2.resize(photo, (size // 4, size // 4), interpolation=cv2.INTER_AREA)
    y0, x0 = size // 2, size // 3
    small[y0 : y0 + size // 4, x0 : x0 + size // 4] = quarter
    rng = np.random.default_rng(0)
    noise = cv2.resize(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), (size, size))
    busy = np.where((np.arange(size)[None, :, None] < size // 5), noise, photo).astype(np.uint8)
    return {
        "cut off": (cut, (top + shift, right, bottom + shift, left)),
        "small": (small, (y0 + top // 4, x0 + right // 4, y0 + bottom // 4, x0 + left // 4)),
        "busy": (busy, face_box),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--fit-shape", type=float, default=0.5, help="CutoutAnimator fit_shape")
    parser.add_argument("--save", type=Path, default=None, help="side-by-side mp4 of the astronaut")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from skimage.data import astronaut

    photo = cv2.resize(astronaut(), (args.resolution, args.resolution))
    face_box = tuple(detect_face(photo))
    evaluate(photo, face_box, args.frames, "astronaut", args.save, args.fit_shape)
    for label, (image, box) in hard_references(photo, face_box).items():
        evaluate(image, box, min(args.frames, 32), label, None, args.fit_shape)


if __name__ == "__main__":
    main()
