"""Small synthetic dances with known kinematic beats: every joint swings like a pendulum.

A clip of period P frames turns arms, spine and head by A cos(pi (t - 1/2) / P): the swing turns
round half a frame after each multiple of P, so the frame-to-frame speed has its (strict) minima
exactly at frames k P, the kinematic beats.
"""

from __future__ import annotations

import numpy as np

from tasks.body.skeleton import UPRIGHT
from tasks.motion.library.clips import MotionClip

_SWINGS = {  # joint: (axis in the joint's frame, amplitude relative to the clip's)
    16: ((0.0, 0.0, 1.0), 1.0),  # left shoulder, up and down
    17: ((0.0, 0.0, 1.0), 1.0),  # right shoulder
    18: ((0.0, 1.0, 0.0), 0.8),  # left elbow
    19: ((0.0, -1.0, 0.0), 0.8),  # right elbow
    3: ((0.0, 1.0, 0.0), 0.3),  # spine twist
    15: ((1.0, 0.0, 0.0), 0.3),  # head nod
}


def pendulum_clip(
    name: str, period: int, amplitude: float, seconds: float, style: str = "pendulum"
) -> MotionClip:
    """A `seconds` long clip at 30 fps swinging with `period` frames per beat, standing still."""
    t = np.arange(round(seconds * 30), dtype=np.float64)
    swing = amplitude * np.cos(np.pi * (t - 0.5) / period)
    poses = np.zeros((len(t), 24, 3))
    poses[:, 0] = UPRIGHT.as_rotvec()
    for joint, (axis, scale) in _SWINGS.items():
        poses[:, joint] = np.outer(swing * scale, axis)
    poses[:, 16, 2] -= 1.0  # arms lowered from the T-pose
    poses[:, 17, 2] += 1.0
    trans = np.tile([0.0, 0.0, 0.956], (len(t), 1))  # toes on z = 0
    return MotionClip(name, style, poses.astype(np.float32), trans.astype(np.float32))


def pendulum_library(seconds: float = 3.0) -> list[MotionClip]:
    """Clips of 14-17 frame beats (0.47-0.57 s) and different amplitudes: short, so a longer
    dance has to jump between them."""
    return [
        pendulum_clip(f"p{period}_{i}", period, amplitude, seconds)
        for i, amplitude in enumerate((0.45, 0.6))
        for period in (14, 15, 16, 17)
    ]


def click_track(seconds: float, bpm: float = 120.0) -> dict:
    """Motion-stage audio inputs of a metronome: onset spikes on every beat."""
    num_frames = round(seconds * 30)
    beats = np.arange(0.0, seconds, 60.0 / bpm)
    onset = np.full(num_frames, 0.05, np.float32)
    onset[np.round(beats * 30).astype(int)] = 1.0
    return {"onset": onset, "beats": beats, "tempo": bpm, "num_frames": num_frames, "fps": 30}
