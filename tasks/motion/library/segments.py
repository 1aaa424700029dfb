"""Library clips cut at kinematic beats into annotated segments, the motion graph's nodes.

Annotations for synthesis to keep partner holds rare (an arm held alone is already replaced by
the free arm mirrored, holds.py): `both_held` counts the frames in which both hands hold a
partner (nothing free to mirror: a solo dancer reaching for nobody), `still` those in which both
arms stay still (a held pose: fine in ballet, frozen-looking when it lasts).

A segment runs from one kinematic beat (a local minimum of the mean joint speed, Kim et al. 2003)
to the next, so synthesis can put every segment boundary on a music beat. All clips (and their
left/right mirrors) are concatenated into one frame table; a segment is a span of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.beats import motion_beats
from tasks.body.skeleton import forward_kinematics
from tasks.motion.library.clips import LIBRARY_FPS
from tasks.motion.library.holds import still_arms

MIN_FRAMES, MAX_FRAMES = 6, 60  # kinematic beat intervals kept as segments (0.2 .. 2 s)
MIN_ENERGY = 0.15  # m/s mean joint speed: slower segments are standing about, not dancing
STEP_LIFT = 0.05  # m: an ankle this far above its clip's lowest height means the segment steps
_ANKLES = (7, 8)


@dataclass(frozen=True)
class Segments:
    """Frames of every clip back to back, and the segments (spans between kinematic beats)."""

    # frame table (F = all clip frames)
    quats: np.ndarray  # (F, 24, 4) local rotations, scipy (x, y, z, w) order
    trans: np.ndarray  # (F, 3) root positions, metres, z up
    joints: np.ndarray  # (F, 24, 3) float32 FK joint positions
    yaw: np.ndarray  # (F,) root facing angle about z, radians, unwrapped within each clip
    # segments (N)
    start: np.ndarray  # (N,) frame index of the first kinematic beat
    end: np.ndarray  # (N,) frame index of the next kinematic beat (the successor's start)
    successor: np.ndarray  # (N,) the segment continuing it in its clip, -1 where none
    style: np.ndarray  # (N,) index into `styles`
    energy: np.ndarray  # (N,) mean joint speed, m/s
    steps: np.ndarray  # (N,) bool: an ankle lifts >= STEP_LIFT inside the segment
    both_held: np.ndarray  # (N,) share of frames in which both hands hold a partner
    still: np.ndarray  # (N,) share of frames in which both arms stay still (holds.still_arms)
    turn: np.ndarray  # (N, 3) yaw relative to the start: min, max, at the end (radians)
    shift: np.ndarray  # (N, 2) root ground displacement start -> end, start-facing frame
    styles: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.start)


def root_yaw(root_rotations: Rotation) -> np.ndarray:
    """Facing angle about z (radians, 0 = rest facing -Y) from the pelvis' left-right axis.

    The hip axis stays level when the dancer bends forward, unlike the pelvis' forward axis.
    """
    left = root_rotations.apply(np.array([1.0, 0.0, 0.0]))
    return np.arctan2(left[..., 1], left[..., 0])


def rotate_z(vectors: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate (..., 2 or 3) vectors about z by `angle` (broadcast over the leading axes)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = vectors[..., 0], vectors[..., 1]
    out = vectors.copy()
    out[..., 0], out[..., 1] = c * x - s * y, s * x + c * y
    return out


def _clip_intervals(joints: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end frames (global) of one clip's kinematic beat intervals of usable length."""
    beats = motion_beats(joints)
    starts, ends = beats[:-1], beats[1:]
    keep = (ends - starts >= MIN_FRAMES) & (ends - starts <= MAX_FRAMES)
    return starts[keep] + offset, ends[keep] + offset


def cut_segments(clips: Sequence) -> Segments:
    """Segments of `clips` (MotionClip-like: name, style, poses (T,24,3), trans (T,3) at 30 fps)."""
    styles = tuple(sorted({clip.style for clip in clips}))
    quats, trans, joints, yaw, lifted, held, still = [], [], [], [], [], [], []
    starts, ends, style = [], [], []
    offset = 0
    for clip in clips:
        poses = np.asarray(clip.poses, np.float64)
        clip_joints = forward_kinematics(poses, np.asarray(clip.trans, np.float64))
        rotations = Rotation.from_rotvec(poses.reshape(-1, 3))
        quats.append(rotations.as_quat().reshape(len(poses), 24, 4).astype(np.float32))
        trans.append(np.asarray(clip.trans, np.float64))
        joints.append(clip_joints.astype(np.float32))
        yaw.append(np.unwrap(root_yaw(Rotation.from_rotvec(poses[:, 0]))))
        ankles = clip_joints[:, _ANKLES, 2]
        lifted.append((ankles - ankles.min(axis=0) >= STEP_LIFT).any(axis=1))
        held.append(np.zeros((len(poses), 2), bool) if clip.held is None else clip.held)
        still.append(still_arms(poses, np.asarray(clip.trans, np.float64), LIBRARY_FPS).all(1))
        s, e = _clip_intervals(clip_joints, offset)
        starts.append(s)
        ends.append(e)
        style.append(np.full(len(s), styles.index(clip.style)))
        offset += len(poses)
    start, end = np.concatenate(starts), np.concatenate(ends)
    all_trans, all_yaw = np.concatenate(trans), np.concatenate(yaw)
    all_joints = np.concatenate(joints)
    speed = np.linalg.norm(np.diff(all_joints, axis=0), axis=-1).mean(axis=1) * LIBRARY_FPS
    cumulative = np.concatenate([[0.0], np.cumsum(speed)])
    energy = (cumulative[end] - cumulative[start]) / (end - start)
    holds = np.concatenate(held)
    both_hands = np.concatenate([[0], np.cumsum(holds.all(axis=1))])
    dancing = energy >= MIN_ENERGY
    start, end, energy = start[dancing], end[dancing], energy[dancing]
    style = np.concatenate(style)[dancing]
    successor = np.full(len(start), -1)
    follows = np.nonzero(end[:-1] == start[1:])[0]
    successor[follows] = follows + 1
    lift = np.concatenate([[0], np.cumsum(np.concatenate(lifted))])
    steps = lift[end + 1] - lift[start] > 0
    share_both = (both_hands[end + 1] - both_hands[start]) / (end + 1 - start)
    both_still = np.concatenate([[0], np.cumsum(np.concatenate(still))])
    share_still = (both_still[end + 1] - both_still[start]) / (end + 1 - start)
    turn = np.array(
        [
            [rel.min(), rel.max(), rel[-1]]
            for rel in (all_yaw[s : e + 1] - all_yaw[s] for s, e in zip(start, end, strict=True))
        ]
    )
    shift = rotate_z(all_trans[end, :2] - all_trans[start, :2], -all_yaw[start])
    return Segments(
        quats=np.concatenate(quats),
        trans=all_trans,
        joints=all_joints,
        yaw=all_yaw,
        start=start,
        end=end,
        successor=successor,
        style=style,
        energy=energy,
        steps=steps,
        both_held=share_both,
        still=share_still,
        turn=turn,
        shift=shift,
        styles=styles,
    )
