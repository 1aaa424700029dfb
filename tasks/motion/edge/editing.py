"""Editing constraints in EDGE's 151-d layout: joint-wise, key poses (in-betweening), root path.

Channel layout per frame: [0:4] foot contacts, [4:7] root position, then joint j's 6D rotation at
[7 + 6 j, 13 + 6 j). (The official mask helper indexes joints as 3 + 3 j, which is wrong.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tasks.body.skeleton import NUM_JOINTS

CONTACTS = slice(0, 4)
ROOT = slice(4, 7)
LOWER_BODY = (0, 1, 2, 4, 5, 7, 8, 10, 11)  # pelvis, hips, knees, ankles, feet
UPPER_BODY = tuple(j for j in range(NUM_JOINTS) if j not in LOWER_BODY)
JOINT_GROUPS = {"lower": LOWER_BODY, "upper": UPPER_BODY, "all": tuple(range(NUM_JOINTS))}


def joint_channels(joint: int) -> slice:
    """Channels of joint `joint`'s 6D rotation in the 151-d vector."""
    if not 0 <= joint < NUM_JOINTS:
        raise ValueError(f"joint index {joint} is outside 0..{NUM_JOINTS - 1}")
    return slice(7 + 6 * joint, 13 + 6 * joint)


@dataclass(frozen=True)
class Edit:
    """What to keep from a reference motion (T_ref, 151), unnormalised, at 30 fps."""

    reference: np.ndarray
    joints: tuple[int, ...] = ()  # joints whose rotation follows the reference at every frame
    root: bool = False  # root position follows the reference path at every frame
    keyframes: tuple[int, ...] = ()  # frames whose whole pose (root + 24 joints) is fixed


def constraint_arrays(edit: Edit, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """mask and value (num_frames, 151) float32; frames past the reference stay free."""
    frames = min(num_frames, edit.reference.shape[0])
    mask = np.zeros((num_frames, edit.reference.shape[1]), np.float32)
    value = np.zeros_like(mask)
    value[:frames] = edit.reference[:frames]
    for joint in edit.joints:
        mask[:frames, joint_channels(joint)] = 1.0
    if edit.root:
        mask[:frames, ROOT] = 1.0
    for frame in edit.keyframes:
        if not 0 <= frame < frames:
            raise ValueError(f"key frame {frame} is outside the reference/song (0..{frames - 1})")
        mask[frame, ROOT.start :] = 1.0
    return mask, value


def parse_joints(spec: str) -> tuple[int, ...]:
    """'lower' | 'upper' | 'all' | '0,1,2' | '' -> joint indices."""
    spec = spec.strip().lower()
    if not spec:
        return ()
    if spec in JOINT_GROUPS:
        return JOINT_GROUPS[spec]
    try:
        joints = tuple(int(part) for part in spec.split(","))
    except ValueError as err:
        raise ValueError(
            f"edit joints {spec!r}: use lower, upper, all or comma-separated SMPL joint indices"
        ) from err
    for joint in joints:
        joint_channels(joint)
    return joints
