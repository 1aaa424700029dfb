"""Render throughput at 512x512 for an SMPL-sized (~13.8k faces) body and the default body.

Usage: python bench/render_fps.py [--frames 128] [--resolution 512]
Prints frames per second for skinning, projection, rasterization (+ part lookup) and all together.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.render.body import Body, builtin_body, pose_body  # noqa: E402
from tasks.render.camera import fit_camera, project  # noqa: E402
from tasks.render.raster import part_maps, rasterize  # noqa: E402

SMPL_FACES = 13776
CHUNK = 8


def smpl_sized_body() -> Body:
    """The built-in body with the ring spacing that brings it closest to SMPL's face count."""
    bodies = [builtin_body(24, spacing) for spacing in np.linspace(0.015, 0.04, 26)]
    return min(bodies, key=lambda b: abs(len(b.faces) - SMPL_FACES))


def dance(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random poses (T, 24, 3) and a root walking across (T, 3)."""
    rng = np.random.default_rng(seed)
    phase = np.linspace(0, 4 * np.pi, frames)[:, None, None]
    poses = 0.4 * np.sin(phase + rng.uniform(0, 2 * np.pi, (1, 24, 3)))
    poses[:, 0] = [np.pi / 2, 0, 0]
    trans = np.stack([np.linspace(-1, 1, frames), np.zeros(frames), np.full(frames, 1.0)], 1)
    return poses, trans


def bench(body: Body, frames: int, resolution: int) -> dict[str, float]:
    """Seconds per frame of each step, over `frames` frames in chunks of 8."""
    poses, trans = dance(frames)
    verts, _ = pose_body(body, poses, trans)
    camera = fit_camera(
        verts.min(1),
        verts.max(1),
        trans,
        height=resolution,
        width=resolution,
        margin=0.1,
        follow=False,
    )
    rasterize(project(verts[:CHUNK], camera, slice(0, CHUNK)), body.faces, resolution, resolution)
    times = dict.fromkeys(("skin", "project", "raster"), 0.0)
    for start in range(0, frames, CHUNK):
        sl = slice(start, min(start + CHUNK, frames))
        t0 = time.perf_counter()
        verts, _ = pose_body(body, poses[sl], trans[sl])
        t1 = time.perf_counter()
        screen = project(verts, camera, sl)
        t2 = time.perf_counter()
        part_maps(rasterize(screen, body.faces, resolution, resolution), body.face_parts)
        t3 = time.perf_counter()
        times["skin"] += t1 - t0
        times["project"] += t2 - t1
        times["raster"] += t3 - t2
    return {k: v / frames for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--resolution", type=int, default=512)
    args = parser.parse_args()
    for name, body in (("smpl-sized", smpl_sized_body()), ("default", builtin_body())):
        per_frame = bench(body, args.frames, args.resolution)
        total = sum(per_frame.values())
        steps = "  ".join(f"{k} {1 / v:7.0f} fps" for k, v in per_frame.items())
        sys.stdout.write(
            f"{name:10s} {len(body.faces):6d} faces {args.resolution}px: {steps}  "
            f"total {1 / total:6.0f} fps\n"
        )


if __name__ == "__main__":
    main()
