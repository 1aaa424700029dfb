"""Acclaim ASF (skeleton) + AMC (motion) reader, as written by the CMU motion capture database.

An ASF bone is a segment with a rest `direction` and `length` in world axes, an `axis` frame C
(Euler angles) and rotational `dof`s; an AMC frame gives those dof values (degrees unless the
ASF says `angle rad`). The bone's
local rotation about the world-aligned rest axes is L = C M C^-1 (M from the dof values, applied
x then y then z), as in the CMU viewer. Each bone becomes a `SourceMotion` joint at the bone's
start; leaf bones get an extra `<name>_end` joint at their tip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.motion.library.source import SourceMotion

_AXES = "xyz"


@dataclass
class _Bone:
    name: str
    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    length: float = 0.0
    axis: Rotation = field(default_factory=Rotation.identity)
    dof: list[str] = field(default_factory=list)
    parent: str = ""


def _euler(angles: list[float], order: str, degrees: bool) -> Rotation:
    """Angles given for x, y, z, composed in `order` (e.g. "XYZ": x first, extrinsic)."""
    by_axis = dict(zip(_AXES, angles, strict=True))
    order = order.lower()
    return Rotation.from_euler(order, [by_axis[a] for a in order], degrees=degrees)


def _parse_asf(text: str, path: Path) -> tuple[list[_Bone], list[str], bool]:
    """Bones in hierarchy order (root first), the root's channel order, angles in degrees?"""
    bones: dict[str, _Bone] = {"root": _Bone("root")}
    root_order, root_axis, root_orientation = ["tx", "ty", "tz", "rx", "ry", "rz"], "XYZ", [0.0] * 3
    section, bone, children, degrees = "", None, [], True
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line.split()[0]
            continue
        words = line.split()
        if section == ":units" and words[0] == "angle":
            degrees = not words[1].lower().startswith("rad")
        elif section == ":root":
            if words[0] == "order":
                root_order = [w.lower() for w in words[1:]]
            elif words[0] == "axis":
                root_axis = words[1]
            elif words[0] == "orientation":
                root_orientation = [float(w) for w in words[1:4]]
        elif section == ":bonedata":
            if words[0] == "begin":
                bone = _Bone("")
            elif words[0] == "end" and bone is not None:
                bones[bone.name] = bone
                bone = None
            elif bone is not None and words[0] == "name":
                bone.name = words[1]
            elif bone is not None and words[0] == "direction":
                bone.direction = np.array([float(w) for w in words[1:4]])
            elif bone is not None and words[0] == "length":
                bone.length = float(words[1])
            elif bone is not None and words[0] == "axis":
                bone.axis = _euler([float(w) for w in words[1:4]], words[4], degrees)
            elif bone is not None and words[0] == "dof":
                bone.dof = [w.lower() for w in words[1:]]
        elif section == ":hierarchy" and words[0] not in ("begin", "end"):
            children.append(words)
    for parent, *kids in children:
        for kid in kids:
            if kid not in bones or parent not in bones:
                raise InputError(f"{path}: hierarchy names unknown bone {kid!r}; is it an ASF?")
            bones[kid].parent = parent
    if len(bones) < 2:
        raise InputError(f"{path}: no bones found; pass a CMU-style ASF skeleton file")
    bones["root"].axis = _euler(root_orientation, root_axis, degrees)
    ordered, queue = [], ["root"]
    while queue:  # breadth first, so parents precede children
        name = queue.pop(0)
        ordered.append(bones[name])
        queue += [k for parent, *kids in children if parent == name for k in kids]
    return ordered, root_order, degrees


def _parse_amc(text: str, path: Path) -> list[dict[str, list[float]]]:
    frames: list[dict[str, list[float]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        words = line.split()
        if words[0].isdigit() and len(words) == 1:
            frames.append({})
        elif frames:
            frames[-1][words[0]] = [float(w) for w in words[1:]]
    if not frames:
        raise InputError(f"{path}: no frames found; pass an AMC motion file")
    return frames


def read_asf_amc(asf: Path, amc: Path, fps: float) -> SourceMotion:
    """The motion of `amc` on the skeleton `asf`, at `fps` (AMC files do not store it)."""
    bones, root_order, degrees = _parse_asf(asf.read_text(errors="replace"), asf)
    frames = _parse_amc(amc.read_text(errors="replace"), amc)
    index = {b.name: i for i, b in enumerate(bones)}

    # 1. dof values per bone, (T, n_dof); a bone missing from a frame keeps its nearest value
    values: dict[str, np.ndarray] = {}
    for b in bones:
        width = len(root_order) if b.name == "root" else len(b.dof)
        if width == 0:
            continue
        arr = np.full((len(frames), width), np.nan)
        for t, frame in enumerate(frames):
            if b.name in frame and len(frame[b.name]) == width:
                arr[t] = frame[b.name]
        valid = np.flatnonzero(~np.isnan(arr[:, 0]))
        if len(valid) == 0:
            raise InputError(f"{amc}: bone {b.name!r} never appears; is {asf.name} its skeleton?")
        nearest = valid[np.clip(np.searchsorted(valid, np.arange(len(frames))), 0, len(valid) - 1)]
        values[b.name] = arr[nearest]

    # 2. local rotations L = C M C^-1; root position from its translation channels
    num = len(frames)
    names, parents, offsets, local = [], [], [], []
    for b in bones:
        names.append(b.name)
        parents.append(index[b.parent] if b.parent else -1)
        parent = bones[index[b.parent]] if b.parent else None
        offsets.append(parent.direction * parent.length if parent is not None else np.zeros(3))
        dofs = root_order if b.name == "root" else b.dof
        angles = np.zeros((num, 3))
        for k, d in enumerate(dofs):
            if d.startswith("r"):
                angles[:, _AXES.index(d[1])] = values[b.name][:, k]
        rot_order = "".join(d[1] for d in dofs if d.startswith("r")) or "xyz"
        rot_order += "".join(a for a in _AXES if a not in rot_order)
        cols = [_AXES.index(a) for a in rot_order]
        motion = Rotation.from_euler(rot_order, angles[:, cols], degrees=degrees).as_matrix()
        c = b.axis.as_matrix()
        local.append(c @ motion @ c.T)
    root = np.zeros((num, 3))
    for k, d in enumerate(root_order):
        if d.startswith("t"):
            root[:, _AXES.index(d[1])] = values["root"][:, k]

    # 3. tips of leaf bones, so every bone has an end point
    has_child = set(parents)
    for i, b in enumerate(bones):
        if i not in has_child and i > 0:
            names.append(f"{b.name}_end")
            parents.append(i)
            offsets.append(b.direction * b.length)
            local.append(np.broadcast_to(np.eye(3), (num, 3, 3)))
    return SourceMotion(
        names=tuple(names),
        parents=tuple(parents),
        offsets=np.asarray(offsets, dtype=np.float64),
        local=np.stack(local, axis=1),
        root=root,
        fps=float(fps),
    )
