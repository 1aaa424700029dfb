"""Retargeting synthetic BVH and ASF/AMC files with known rotations onto SMPL's 24 joints."""

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import OFFSETS, UPRIGHT, forward_kinematics
from tasks.motion.library.acclaim import read_asf_amc
from tasks.motion.library.bvh import read_bvh
from tasks.motion.library.retarget import resample, retarget
from tests.tasks.motion.library.mocap_files import (
    ASF_BONES,
    BONES,
    NAMES,
    SMPL_CHILD,
    default_root,
    rig_positions,
    smooth_rotations,
    write_asf_amc,
    write_bvh,
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _bone_angles(joints: np.ndarray, source: np.ndarray, pairs: dict) -> np.ndarray:
    """(T, bones) degrees between SMPL bones j->child and source bones (z-up, same yaw)."""
    ours = np.stack([joints[:, SMPL_CHILD[j]] - joints[:, j] for j in pairs], axis=1)
    theirs = np.stack([source[:, b] - source[:, a] for a, b in pairs.values()], axis=1)
    ours, theirs = _unit(ours), _unit(theirs)
    # the output is turned about z to face -Y: undo that turn (fitted on the first frame)
    cross = ours[0, :, 0] * theirs[0, :, 1] - ours[0, :, 1] * theirs[0, :, 0]
    dot = (ours[0, :, :2] * theirs[0, :, :2]).sum(-1)
    yaw = Rotation.from_euler("z", np.arctan2(cross.sum(), dot.sum()))
    ours = yaw.apply(ours.reshape(-1, 3)).reshape(ours.shape)
    return np.degrees(np.arccos(np.clip((ours * theirs).sum(-1), -1.0, 1.0)))


def test_bvh_bone_directions_match_the_source(tmp_path: Path):
    frames, fps = 45, 30.0
    local, root = smooth_rotations(frames, fps), default_root(frames, fps)
    write_bvh(tmp_path / "a.bvh", local, root, fps)
    poses, trans = retarget(read_bvh(tmp_path / "a.bvh"))
    assert poses.shape == (frames, 24, 3) and trans.shape == (frames, 3)

    source = UPRIGHT.apply(rig_positions(local, root).reshape(-1, 3)).reshape(frames, -1, 3)
    pairs = {j: (NAMES.index(a), NAMES.index(b)) for j, (a, b) in BONES.items()}
    angles = _bone_angles(forward_kinematics(poses, trans), source, pairs)
    assert angles.max() < 2.0, angles.max(axis=0)


def test_bvh_rest_pose_stands_on_the_ground_facing_minus_y(tmp_path: Path):
    frames = 4
    rest = Rotation.identity(frames * len(NAMES))
    root = np.tile([5.0, 95.0, -3.0], (frames, 1))
    write_bvh(tmp_path / "rest.bvh", rest, root, 30)
    poses, trans = retarget(read_bvh(tmp_path / "rest.bvh"))
    joints = forward_kinematics(poses, trans)
    toes = joints[:, [10, 11]]
    np.testing.assert_allclose(toes[..., 2], 0.0, atol=0.01)  # toes on z = 0
    forward = toes.mean(axis=1) - joints[:, [7, 8]].mean(axis=1)
    assert np.all(forward[:, 1] < -0.05)  # the feet point to -Y
    assert np.all(joints[:, 15, 2] > joints[:, 0, 2] + 0.4)  # head above pelvis
    standing = -(OFFSETS[1] + OFFSETS[4] + OFFSETS[7] + OFFSETS[10])[1]  # SMPL pelvis over toes
    np.testing.assert_allclose(trans[:, 2], standing, atol=0.03)
    # the A-pose arms of the rig hang down in the output too: wrists below the shoulders
    assert np.all(joints[:, [20, 21], 2] < joints[:, [16, 17], 2] - 0.1)


def test_a_rig_facing_x_at_rest_gets_smpl_rest_limbs_without_twist(tmp_path: Path):
    frames = 2
    rest = Rotation.identity(frames * len(NAMES))
    root = np.tile([0.0, 95.0, 0.0], (frames, 1))
    write_bvh(tmp_path / "x.bvh", rest, root, 30, rest_turn=Rotation.from_euler("y", 90, True))
    poses, _ = retarget(read_bvh(tmp_path / "x.bvh"))
    legs = poses[:, [1, 2, 4, 5]]  # hips and knees
    # the rig's rest legs differ a little from SMPL's, but are not twisted about their own axis (y)
    assert np.degrees(np.abs(legs[..., 1])).max() < 10
    assert np.degrees(np.linalg.norm(legs, axis=-1)).max() < 15


def _asf_positions(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """End point (T, 3) of every ASF bone by the Acclaim rule L = C M C^-1 (y up, ASF units)."""
    root = values["root"]
    world = {"root": Rotation.from_euler("xyz", root[:, 3:], degrees=True)}
    ends = {"root": root[:, :3]}
    parent_of = {"lowerback": "root", "lhipjoint": "root", "rhipjoint": "root"}
    chains = [
        ["lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes"],
        ["rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes"],
        ["lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head"],
        ["thorax", "lclavicle", "lhumerus", "lradius", "lwrist", "lhand", "lfingers"],
        ["thorax", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers"],
    ]
    for chain in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            parent_of[b] = a
    for name, direction, length, axis, dof in ASF_BONES:
        angles = np.zeros((len(root), 3))
        for k, d in enumerate(dof.split()):
            angles[:, "xyz".index(d[1])] = values[name][:, k]
        c = Rotation.from_euler("xyz", axis, degrees=True)
        motion = Rotation.from_euler("xyz", angles, degrees=True)
        world[name] = world[parent_of[name]] * c * motion * c.inv()
        d = np.asarray(direction, float) / np.linalg.norm(direction)
        ends[name] = ends[parent_of[name]] + world[name].apply(d * length)
    return ends


def test_asf_amc_bone_directions_match_the_source(tmp_path: Path):
    values = write_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", frames=40)
    poses, trans = retarget(read_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", 120))
    ends = _asf_positions(values)
    pairs = {  # SMPL joint -> (ASF bone ending at its start, ASF bone ending at its end)
        1: ("lhipjoint", "lfemur"), 4: ("lfemur", "ltibia"), 7: ("ltibia", "lfoot"),
        2: ("rhipjoint", "rfemur"), 5: ("rfemur", "rtibia"), 8: ("rtibia", "rfoot"),
        3: ("root", "lowerback"), 6: ("lowerback", "upperback"), 9: ("upperback", "thorax"),
        12: ("thorax", "upperneck"), 13: ("thorax", "lclavicle"), 16: ("lclavicle", "lhumerus"),
        18: ("lhumerus", "lwrist"), 20: ("lwrist", "lhand"), 14: ("thorax", "rclavicle"),
        17: ("rclavicle", "rhumerus"), 19: ("rhumerus", "rwrist"), 21: ("rwrist", "rhand"),
    }  # fmt: skip
    names = list(ends)
    source = np.stack([UPRIGHT.apply(ends[n]) for n in names], axis=1)
    index = {j: (names.index(a), names.index(b)) for j, (a, b) in pairs.items()}
    angles = _bone_angles(forward_kinematics(poses, trans), source, index)
    assert angles.max() < 2.0, angles.max(axis=0)


def test_asf_knee_flexion_of_90_degrees_bends_the_smpl_knee_90_degrees(tmp_path: Path):
    fixed = {"ltibia": [90.0], "lfemur": [0.0, 0.0, 0.0]}
    write_asf_amc(tmp_path / "07.asf", tmp_path / "07_02.amc", frames=3, fixed=fixed)
    poses, trans = retarget(read_asf_amc(tmp_path / "07.asf", tmp_path / "07_02.amc", 120))
    joints = forward_kinematics(poses, trans)
    thigh, shin = _unit(joints[:, 4] - joints[:, 1]), _unit(joints[:, 7] - joints[:, 4])
    np.testing.assert_allclose(np.degrees(np.arccos((thigh * shin).sum(-1))), 90.0, atol=1.0)


def test_asf_in_radians_reads_like_degrees(tmp_path: Path):
    write_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", frames=5)
    (tmp_path / "rad").mkdir()
    asf = []
    for line in (tmp_path / "07.asf").read_text().replace("angle deg", "angle rad").splitlines():
        words = line.split()
        if len(words) == 5 and words[0] == "axis":  # a bone's axis angles
            line = " ".join(["axis", *(str(np.radians(float(w))) for w in words[1:4]), words[4]])
        asf.append(line)
    (tmp_path / "rad" / "07.asf").write_text("\n".join(asf))
    lines = []
    for line in (tmp_path / "07_01.amc").read_text().splitlines():
        name, *values = line.split()
        if values:
            v, first = np.array(values, float), 3 if name == "root" else 0  # root: TX TY TZ first
            v[first:] = np.radians(v[first:])
            line = " ".join([name, *map(str, v)])
        lines.append(line)
    (tmp_path / "rad" / "07_01.amc").write_text("\n".join(lines))
    degrees = read_asf_amc(tmp_path / "07.asf", tmp_path / "07_01.amc", 120)
    radians = read_asf_amc(tmp_path / "rad" / "07.asf", tmp_path / "rad" / "07_01.amc", 120)
    np.testing.assert_allclose(
        radians.forward_kinematics()[1], degrees.forward_kinematics()[1], atol=1e-6
    )


def test_resampling_60_to_30_fps_keeps_timing(tmp_path: Path):
    fps, frames = 60.0, 121  # 2 s
    t = np.arange(frames) / fps
    rotvec = np.zeros((frames, len(NAMES), 3))
    rotvec[:, NAMES.index("LeftForeArm"), 2] = 1.2 * np.exp(-(((t - 1.0) / 0.15) ** 2))
    root = default_root(frames, fps)
    root[:, 0] = 30 * np.exp(-(((t - 1.5) / 0.1) ** 2))  # a sidestep peaking at 1.5 s
    write_bvh(tmp_path / "b.bvh", Rotation.from_rotvec(rotvec.reshape(-1, 3)), root, fps)
    source = read_bvh(tmp_path / "b.bvh")
    poses, trans = resample(*retarget(source), source.fps, 30)
    assert len(poses) == 61  # 0 .. 2 s inclusive at 30 fps
    elbow = np.linalg.norm(poses[:, 18], axis=-1)
    assert np.argmax(elbow) == 30  # 1.0 s
    sidestep = np.linalg.norm(trans[:, :2] - trans[:1, :2], axis=-1)
    assert np.argmax(sidestep) == 45  # 1.5 s
