"""Small synthetic mocap files with known rotations: a BVH rig and a CMU-style ASF/AMC pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

# A Mixamo-named rig in centimetres, y up, facing +z, arms in an A-pose (unlike SMPL's T-pose)
RIG = (  # name, parent, offset
    ("Hips", None, (0, 0, 0)),
    ("LeftUpLeg", "Hips", (9, -6, 0)),
    ("LeftLeg", "LeftUpLeg", (0, -42, 1)),
    ("LeftFoot", "LeftLeg", (0, -40, -2)),
    ("LeftToeBase", "LeftFoot", (0, -6, 12)),
    ("RightUpLeg", "Hips", (-9, -6, 0)),
    ("RightLeg", "RightUpLeg", (0, -42, 1)),
    ("RightFoot", "RightLeg", (0, -40, -2)),
    ("RightToeBase", "RightFoot", (0, -6, 12)),
    ("Spine", "Hips", (0, 10, 0)),
    ("Spine1", "Spine", (0, 12, 0)),
    ("Spine2", "Spine1", (0, 12, 0)),
    ("Neck", "Spine2", (0, 14, 0)),
    ("Head", "Neck", (0, 10, 2)),
    ("LeftShoulder", "Spine2", (4, 10, 0)),
    ("LeftArm", "LeftShoulder", (12, 0, 0)),
    ("LeftForeArm", "LeftArm", (24, -14, 0)),
    ("LeftHand", "LeftForeArm", (22, -13, 0)),
    ("LeftHandMiddle1", "LeftHand", (8, -4, 0)),
    ("RightShoulder", "Spine2", (-4, 10, 0)),
    ("RightArm", "RightShoulder", (-12, 0, 0)),
    ("RightForeArm", "RightArm", (-24, -14, 0)),
    ("RightHand", "RightForeArm", (-22, -13, 0)),
    ("RightHandMiddle1", "RightHand", (-8, -4, 0)),
)
# SMPL joint -> (rig joint at the bone's start, rig joint at its end), for the checks
BONES = {
    1: ("LeftUpLeg", "LeftLeg"), 4: ("LeftLeg", "LeftFoot"), 7: ("LeftFoot", "LeftToeBase"),
    2: ("RightUpLeg", "RightLeg"), 5: ("RightLeg", "RightFoot"), 8: ("RightFoot", "RightToeBase"),
    3: ("Spine", "Spine1"), 6: ("Spine1", "Spine2"), 9: ("Spine2", "Neck"), 12: ("Neck", "Head"),
    13: ("LeftShoulder", "LeftArm"), 16: ("LeftArm", "LeftForeArm"),
    18: ("LeftForeArm", "LeftHand"), 20: ("LeftHand", "LeftHandMiddle1"),
    14: ("RightShoulder", "RightArm"), 17: ("RightArm", "RightForeArm"),
    19: ("RightForeArm", "RightHand"), 21: ("RightHand", "RightHandMiddle1"),
}  # fmt: skip
SMPL_CHILD = {1: 4, 4: 7, 7: 10, 2: 5, 5: 8, 8: 11, 3: 6, 6: 9, 9: 12, 12: 15, 13: 16, 16: 18,
              18: 20, 20: 22, 14: 17, 17: 19, 19: 21, 21: 23}  # fmt: skip
NAMES = [r[0] for r in RIG]


def smooth_rotations(frames: int, fps: float, seed: int = 0, scale: float = 0.5) -> Rotation:
    """(frames * joints) local rotations that vary smoothly: sines of 0.3-1.5 Hz per axis."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / fps
    freq = rng.uniform(0.3, 1.5, size=(1, len(RIG), 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, len(RIG), 3))
    rotvec = scale * np.sin(2 * np.pi * freq * t + phase)
    rotvec[:, 0] *= 0.3  # an upright root
    return Rotation.from_rotvec(rotvec.reshape(-1, 3))


def rig_positions(local: Rotation, root: np.ndarray) -> np.ndarray:
    """(T, J, 3) joint positions of RIG by forward kinematics (y up, centimetres)."""
    frames = len(root)
    mats = local.as_matrix().reshape(frames, len(RIG), 3, 3)
    world, pos = np.empty_like(mats), np.empty((frames, len(RIG), 3))
    for j, (_, parent, offset) in enumerate(RIG):
        if parent is None:
            world[:, j], pos[:, j] = mats[:, j], root
            continue
        p = NAMES.index(parent)
        world[:, j] = world[:, p] @ mats[:, j]
        pos[:, j] = pos[:, p] + world[:, p] @ np.asarray(offset, float)
    return pos


def write_bvh(
    path: Path, local: Rotation, root: np.ndarray, fps: float, rest_turn: Rotation | None = None
) -> None:
    """RIG with `local` rotations (T*J) and root positions (T, 3) as a BVH file; `rest_turn`
    turns the rig's rest pose (its offsets)."""
    children = {n: [r[0] for r in RIG if r[1] == n] for n in NAMES}
    lines = ["HIERARCHY"]

    def joint(name: str, depth: int) -> None:
        pad = "  " * depth
        offset = np.asarray(next(r[2] for r in RIG if r[0] == name), float)
        if rest_turn is not None:
            offset = rest_turn.apply(offset)
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}\n{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}")
        pos = "Xposition Yposition Zposition " if depth == 0 else ""
        lines.append(f"{pad}  CHANNELS {6 if depth == 0 else 3} {pos}Zrotation Xrotation Yrotation")
        for child in children[name]:
            joint(child, depth + 1)
        if not children[name]:
            lines.append(f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 3 0\n{pad}  }}")
        lines.append(f"{pad}}}")

    joint("Hips", 0)
    frames = len(root)
    euler = local.as_euler("ZXY", degrees=True).reshape(frames, -1)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1 / fps:.10f}"]
    rows = [" ".join(f"{v:.6f}" for v in row) for row in np.concatenate([root, euler], axis=1)]
    path.write_text("\n".join(lines + rows) + "\n")


def default_root(frames: int, fps: float) -> np.ndarray:
    """A pelvis 95 cm up that sways and travels a little."""
    t = np.arange(frames) / fps
    return np.stack([10 * np.sin(t), 95 + 3 * np.sin(4 * t), 5 * t], axis=1)


# A CMU-style ASF: left leg, spine and neck of the CMU skeleton with its `axis` frames
ASF_TEXT = """:version 1.10
:name VICON
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
{bones}:hierarchy
  begin
    root lhipjoint rhipjoint lowerback
    lhipjoint lfemur
    lfemur ltibia
    ltibia lfoot
    lfoot ltoes
    rhipjoint rfemur
    rfemur rtibia
    rtibia rfoot
    rfoot rtoes
    lowerback upperback
    upperback thorax
    thorax lowerneck lclavicle rclavicle
    lowerneck upperneck
    upperneck head
    lclavicle lhumerus
    lhumerus lradius
    lradius lwrist
    lwrist lhand
    lhand lfingers
    rclavicle rhumerus
    rhumerus rradius
    rradius rwrist
    rwrist rhand
    rhand rfingers
  end
"""
ASF_BONES = (  # name, direction, length, axis, dof
    ("lhipjoint", (0.61, -0.75, 0.26), 2.3, (0, 0, 0), ""),
    ("lfemur", (0.34, -0.94, 0), 7.3, (0, 0, 20), "rx ry rz"),
    ("ltibia", (0.34, -0.94, 0), 7.3, (0, 0, 20), "rx"),
    ("lfoot", (0.12, -0.34, 0.93), 1.8, (-90, 0, 20), "rx rz"),
    ("ltoes", (0, 0, 1), 0.9, (-90, 0, 20), "rx"),
    ("rhipjoint", (-0.61, -0.75, 0.26), 2.3, (0, 0, 0), ""),
    ("rfemur", (-0.34, -0.94, 0), 7.3, (0, 0, -20), "rx ry rz"),
    ("rtibia", (-0.34, -0.94, 0), 7.3, (0, 0, -20), "rx"),
    ("rfoot", (-0.12, -0.34, 0.93), 1.8, (-90, 0, -20), "rx rz"),
    ("rtoes", (0, 0, 1), 0.9, (-90, 0, -20), "rx"),
    ("lowerback", (0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    ("upperback", (0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    ("thorax", (0, 1, 0), 2.0, (0, 0, 0), "rx ry rz"),
    ("lowerneck", (0, 1, 0.07), 1.7, (0, 0, 0), "rx ry rz"),
    ("upperneck", (0, 1, -0.13), 1.7, (0, 0, 0), "rx ry rz"),
    ("head", (0, 1, -0.05), 1.7, (0, 0, 0), "rx ry rz"),
    ("lclavicle", (0.91, 0.4, 0), 3.3, (0, 0, -20), "ry rz"),
    ("lhumerus", (1, 0, 0), 5.0, (0, 0, 90), "rx ry rz"),
    ("lradius", (1, 0, 0), 3.4, (0, 0, 90), "rx"),
    ("lwrist", (1, 0, 0), 1.7, (0, 0, 90), "ry"),
    ("lhand", (1, 0, 0), 0.8, (0, 0, 90), "rx rz"),
    ("lfingers", (1, 0, 0), 0.6, (0, 0, 90), "rx"),
    ("rclavicle", (-0.91, 0.4, 0), 3.3, (0, 0, 20), "ry rz"),
    ("rhumerus", (-1, 0, 0), 5.0, (0, 0, -90), "rx ry rz"),
    ("rradius", (-1, 0, 0), 3.4, (0, 0, -90), "rx"),
    ("rwrist", (-1, 0, 0), 1.7, (0, 0, -90), "ry"),
    ("rhand", (-1, 0, 0), 0.8, (0, 0, -90), "rx rz"),
    ("rfingers", (-1, 0, 0), 0.6, (0, 0, -90), "rx"),
)


def write_asf_amc(
    asf: Path, amc: Path, frames: int, seed: int = 0, fixed: dict[str, list[float]] | None = None
) -> dict[str, np.ndarray]:
    """A CMU-style skeleton and a motion with smooth random dof values (`fixed`: constant values
    of some bones, degrees); returns the values per bone, (frames, channels)."""
    bones = ""
    for i, (name, direction, length, axis, dof) in enumerate(ASF_BONES, 1):
        d = np.asarray(direction, float) / np.linalg.norm(direction)
        bones += f"  begin\n     id {i}\n     name {name}\n"
        bones += f"     direction {d[0]:.6f} {d[1]:.6f} {d[2]:.6f}\n     length {length}\n"
        bones += f"     axis {axis[0]} {axis[1]} {axis[2]} XYZ\n"
        bones += f"    dof {dof}\n  end\n" if dof else "  end\n"
    asf.write_text(ASF_TEXT.format(bones=bones))
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 120.0
    root = default_root(frames, 120.0) / 5.6444  # ASF length units
    values = {"root": np.concatenate([root, np.zeros((frames, 3))], axis=1)}
    values["root"][:, 4] = 30 * np.sin(t[:, 0])  # a slow turn
    for name, *_, dof in ASF_BONES:
        if dof:
            n = len(dof.split())
            freq, phase = rng.uniform(0.3, 1.5, n), rng.uniform(0, 6, n)
            values[name] = 25 * np.sin(2 * np.pi * freq * t + phase)
    for name, vals in (fixed or {}).items():
        values[name][:] = vals
    lines = [":FULLY-SPECIFIED", ":DEGREES"]
    for f in range(frames):
        lines.append(str(f + 1))
        lines += [f"{k} " + " ".join(f"{v:.5f}" for v in vals[f]) for k, vals in values.items()]
    amc.write_text("\n".join(lines) + "\n")
    return values
