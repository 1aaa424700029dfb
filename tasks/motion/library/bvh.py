"""BVH reader: the hierarchy's offsets and each frame's channels as a `SourceMotion`.

BVH rotations are Euler angles in degrees, composed in the order the channels are listed
(intrinsic: "Zrotation Xrotation Yrotation" is Rz @ Rx @ Ry). The rest pose is all zeros, so the
offsets are the rest bone directions. The world is taken as y up (the BVH convention).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.motion.library.source import SourceMotion


def read_bvh(path: Path) -> SourceMotion:
    """The motion of a BVH file at its own frame rate (`Frame Time`)."""
    text = path.read_text(errors="replace")
    head, sep, motion = text.partition("MOTION")
    if not sep or "HIERARCHY" not in head:
        raise InputError(f"{path}: not a BVH file (needs HIERARCHY and MOTION sections)")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    tokens = head.split()
    i = 0
    try:
        while i < len(tokens):
            word = tokens[i]
            if word in ("ROOT", "JOINT", "End"):
                name = tokens[i + 1] if word != "End" else f"{names[stack[-1]]}_end"
                names.append(name)
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                i += 2
            elif word == "{":
                stack.append(len(names) - 1)
                i += 1
            elif word == "}":
                stack.pop()
                i += 1
            elif word == "OFFSET":
                offsets[stack[-1]] = [float(v) for v in tokens[i + 1 : i + 4]]
                i += 4
            elif word == "CHANNELS":
                count = int(tokens[i + 1])
                channels[stack[-1]] = [c.lower() for c in tokens[i + 2 : i + 2 + count]]
                i += 2 + count
            else:
                i += 1
        lines = motion.strip().splitlines()
        num = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
        values = np.loadtxt(lines[2 : 2 + num], ndmin=2)
    except (IndexError, ValueError) as err:
        raise InputError(f"{path}: malformed BVH ({err}); export it again from your tool") from None
    width = sum(len(c) for c in channels)
    if values.shape != (num, width) or num < 2 or frame_time <= 0:
        raise InputError(
            f"{path}: MOTION has {values.shape} values, the hierarchy needs ({num}, {width}) "
            "and at least 2 frames; export it again from your tool"
        )

    local = np.broadcast_to(np.eye(3), (num, len(names), 3, 3)).copy()
    root = np.broadcast_to(np.asarray(offsets[0]), (num, 3)).copy()
    column = 0
    for j, chans in enumerate(channels):
        rot = [k for k, c in enumerate(chans) if c.endswith("rotation")]
        if rot:
            order = "".join(chans[k][0].upper() for k in rot)
            angles = values[:, [column + k for k in rot]]
            local[:, j] = Rotation.from_euler(order, angles, degrees=True).as_matrix()
        if parents[j] < 0:
            for k, c in enumerate(chans):
                if c.endswith("position"):
                    root[:, "xyz".index(c[0])] = values[:, column + k]
        column += len(chans)
    return SourceMotion(
        names=tuple(names),
        parents=tuple(parents),
        offsets=np.asarray(offsets, dtype=np.float64),
        local=local,
        root=root,
        fps=1.0 / frame_time,
    )
