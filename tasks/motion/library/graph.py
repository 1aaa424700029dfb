"""Motion graph: segments linked where one's end pose and velocity match another's start.

Boundary frames are compared as joint positions and velocities in the root's own ground frame
(root xy removed, root yaw turned to 0), as in Kovar et al. 2002's point-cloud distance; each
segment keeps its natural successor (cost 0) and its `NEIGHBOURS` closest other starts below
`MAX_COST`. Built graphs are cached per library file for the process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.base import InputError
from tasks.motion.library.clips import LIBRARY_FPS, load_library, mirror_clip
from tasks.motion.library.holds import free_arms
from tasks.motion.library.segments import Segments, cut_segments, rotate_z

NEIGHBOURS = 64  # transitions kept per segment end besides its natural successor
MAX_COST = 0.12  # m, RMS joint position+velocity mismatch above which no edge is made
_VELOCITY_TIME = 0.1  # s: a joint velocity counts as the distance it covers in this time
_BLOCK = 1024  # rows of the pairwise cost computed at once (caps memory)


@dataclass(frozen=True)
class MotionGraph:
    """Segments and, per segment, its outgoing transitions (CSR: `edges[ptr[n]:ptr[n+1]]`)."""

    segments: Segments
    ptr: np.ndarray  # (N+1,)
    edges: np.ndarray  # (E,) target segment of each transition
    cost: np.ndarray  # (E,) boundary mismatch, metres RMS
    start_features: np.ndarray  # (N, D) boundary features of every segment start
    end_features: np.ndarray  # (N, D) boundary features of every segment end

    def transitions(self, segment: int) -> tuple[np.ndarray, np.ndarray]:
        """Targets and costs of the transitions leaving `segment`."""
        span = slice(self.ptr[segment], self.ptr[segment + 1])
        return self.edges[span], self.cost[span]

    def mismatch_from(self, segment: int) -> np.ndarray:
        """(N,) boundary mismatch from `segment`'s end to every segment's start, metres RMS."""
        diff = self.start_features - self.end_features[segment]
        return np.sqrt((diff**2).sum(axis=1) / (diff.shape[1] / 3))


def boundary_features(segments: Segments, frames: np.ndarray) -> np.ndarray:
    """(n, 24*6) joint positions and velocities at `frames` in each frame's root ground frame."""
    joints = segments.joints
    prev, nxt = np.maximum(frames - 1, 0), np.minimum(frames + 1, len(joints) - 1)
    root = segments.trans[frames] * np.array([1.0, 1.0, 0.0])
    pos = rotate_z(joints[frames] - root[:, None], -segments.yaw[frames][:, None])
    vel = (joints[nxt] - joints[prev]) / (nxt - prev)[:, None, None] * LIBRARY_FPS
    vel = rotate_z(vel, -segments.yaw[frames][:, None]) * _VELOCITY_TIME
    return np.concatenate([pos, vel], axis=1).reshape(len(frames), -1)


def _nearest(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (n, D): indices and RMS-per-joint distances of its k nearest rows of b."""
    k = min(k, len(b))
    a, b = a.astype(np.float64), b.astype(np.float64)  # |a|^2 + |b|^2 - 2ab cancels in float32
    idx, dist = [], []
    b_sq = (b**2).sum(axis=1)
    for lo in range(0, len(a), _BLOCK):
        block = a[lo : lo + _BLOCK]
        d2 = (block**2).sum(axis=1)[:, None] + b_sq[None] - 2.0 * block @ b.T
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        idx.append(part)
        dist.append(np.take_along_axis(d2, part, axis=1))
    joints_count = a.shape[1] / 3
    return np.concatenate(idx), np.sqrt(np.maximum(np.concatenate(dist), 0.0) / joints_count)


def build_graph(clips: Sequence, mirror: bool = True) -> MotionGraph:
    """Motion graph over `clips` (MotionClip-like) and, with `mirror`, their left/right mirrors."""
    clips = [free_arms(clip) for clip in clips]
    if mirror:
        clips = [*clips, *(mirror_clip(clip) for clip in clips)]
    segments = cut_segments(clips)
    if len(segments) < 2:
        raise InputError(
            f"the motion library has {len(segments)} danced segments between kinematic beats; "
            "build it from more (or livelier) dance motion, or use motion.library=null"
        )
    start_f = boundary_features(segments, segments.start).astype(np.float32)
    end_f = boundary_features(segments, segments.end).astype(np.float32)
    near, dist = _nearest(end_f, start_f, NEIGHBOURS + 2)
    n = len(segments)
    own = np.arange(n)[:, None]
    keep = (dist <= MAX_COST) & (near != own) & (near != segments.successor[:, None])
    rows = []
    for i in range(n):
        targets, costs = near[i][keep[i]], dist[i][keep[i]]
        order = np.argsort(costs)[:NEIGHBOURS]
        if segments.successor[i] >= 0:
            targets = np.concatenate([[segments.successor[i]], targets[order]])
            costs = np.concatenate([[0.0], costs[order]])
        else:
            targets, costs = targets[order], costs[order]
        rows.append((targets, costs))
    ptr = np.concatenate([[0], np.cumsum([len(t) for t, _ in rows])])
    return MotionGraph(
        segments=segments,
        ptr=ptr,
        edges=np.concatenate([t for t, _ in rows]).astype(np.int64),
        cost=np.concatenate([c for _, c in rows]),
        start_features=start_f,
        end_features=end_f,
    )


@functools.lru_cache(maxsize=4)
def _cached_graph(path: str | None, stamp: float) -> MotionGraph:
    return build_graph(load_library(path))


def library_graph(path: str | Path | None = None) -> MotionGraph:
    """The graph of the library at `path` (None: the bundled one), built once per file version."""
    if path is None:
        return _cached_graph(None, 0.0)
    return _cached_graph(str(path), Path(path).stat().st_mtime)
