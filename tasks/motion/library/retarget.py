"""Retarget a source skeleton's motion onto SMPL's 24 joints in the motion artifact's frame.

Recipe, per frame (the source world is y up like SMPL's rest frame, so no axis swap is needed
until the end):
1. Joint mapping: each SMPL joint j takes a source joint s (whose rotation gives j's twist) and the
   source joint at the other end of j's bone (the source of j's child), by name.
2. Rest alignment: O_j is the smallest rotation taking SMPL's rest bone (OFFSETS[child]), turned
   to the way the source's rest body faces, onto the source's rest bone; the source's rest global
   rotations are the identity, so W_j = G_s O_j.
3. Swing fix: where source bones between s and the end point bend (neck, spine, wrist), a
   minimal rotation turns W_j's bone onto the observed source bone, so directions match exactly.
4. Local rotations: local_j = W_parent^T W_j; leaves (toes, head, hands) copy the source's local
   rotation through their parent's rest alignment.
5. Root: the pelvis position scaled by SMPL leg length / source leg length; the whole motion is
   stood up (UPRIGHT), turned to face -Y at its first frame, centred, and the feet put on z = 0.
"""

from __future__ import annotations

import re

import numpy as np
from scipy.ndimage import percentile_filter, uniform_filter1d
from scipy.spatial.transform import Rotation, Slerp

from tasks.base import InputError
from tasks.body.skeleton import (
    JOINT_NAMES,
    NUM_JOINTS,
    OFFSETS,
    PARENTS,
    UPRIGHT,
    align_vectors,
    forward_kinematics,
    rotation_matrices,
    unit,
)
from tasks.motion.library.source import SourceMotion

LEAVES = (10, 11, 15, 22, 23)  # SMPL joints with no child among the 24
# The child whose bone direction a joint's rotation is aligned to (spine3: the neck, not a collar)
CHILD = {j: PARENTS.index(j) for j in range(NUM_JOINTS) if j in PARENTS}
CHILD[9] = 12
SPINE = (3, 6, 9)
# The floor under the lowest foot joint: a low percentile over a sliding window (jumps and
# kicks lift the feet for well under the window), smoothed, so the slow drift of a capture's
# floor height (up to 9 cm over a CMU take) does not leave the dancer hovering or sinking.
GROUND_PERCENTILE = 10.0
GROUND_WINDOW_S = 4.0
# Source names per SMPL joint, after `_normal`; "{s}" is l/r and "{side}" left/right. They cover
# CMU ASF, CMU BVH (cgspeed), Mixamo and similar rigs; SMPL-named rigs map one to one.
_ALIASES = {
    "hip": ("{s}femur", "{side}upleg", "{side}thigh", "{side}upperleg", "{side}hip"),
    "knee": ("{s}tibia", "{side}leg", "{side}lowerleg", "{side}knee", "{side}shin"),
    "ankle": ("{s}foot", "{side}foot", "{side}ankle"),
    "foot": ("{s}toes", "{side}toebase", "{side}toe", "{side}toes", "{side}ball"),
    "collar": ("{s}clavicle", "{side}shoulder", "{side}collar", "{side}clavicle"),
    "shoulder": ("{s}humerus", "{side}arm", "{side}upperarm"),
    "elbow": ("{s}radius", "{side}forearm", "{side}lowerarm", "{side}elbow"),
    "wrist": ("{s}hand", "{side}hand", "{side}wrist"),
    "hand": ("{s}fingers", "{side}handmiddle1", "{side}handindex1", "{side}fingerbase"),
    "neck": ("lowerneck", "neck", "neck1"),
    "head": ("head",),
}


def _normal(name: str) -> str:
    """Lowercase, without a namespace prefix (mixamorig:) or separators."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


def _find(names: tuple[str, ...], candidates: tuple[str, ...]) -> int | None:
    normal = [_normal(n) for n in names]
    for c in candidates:
        if c in normal:
            return normal.index(c)
    return None


def _ancestors(parents: tuple[int, ...], j: int) -> list[int]:
    chain = []
    while parents[j] >= 0:
        j = parents[j]
        chain.append(j)
    return chain


def map_joints(source: SourceMotion) -> list[int | None]:
    """Source joint index per SMPL joint (None: an absent leaf, left at its rest rotation)."""
    if set(JOINT_NAMES) <= set(source.names):
        return [source.names.index(n) for n in JOINT_NAMES]
    found: list[int | None] = [None] * NUM_JOINTS
    found[0] = source.parents.index(-1)
    for j, name in enumerate(JOINT_NAMES):
        part = name.split("_")[-1]
        if part not in _ALIASES:
            continue
        side = name.split("_")[0] if "_" in name else ""
        keys = tuple(a.format(s=side[:1], side=side) for a in _ALIASES[part])
        found[j] = _find(source.names, keys)
    neck = found[12]
    optional = (*LEAVES, *SPINE)
    missing = [JOINT_NAMES[j] for j, f in enumerate(found) if f is None and j not in optional]
    if missing or neck is None:
        raise InputError(
            f"the skeleton ({', '.join(source.names[:8])} ...) has no joint for "
            f"{', '.join(missing) or 'neck'}; rename its joints to SMPL, CMU or Mixamo names"
        )
    # spine: three joints spread over the chain strictly between the root and the neck
    chain = _ancestors(source.parents, neck)[::-1][1:]
    if len(chain) < 3:
        raise InputError(
            f"the skeleton has {len(chain)} spine joint(s) between hips and neck; "
            "SMPL needs three: split the spine into three joints before retargeting"
        )
    for j, k in zip(SPINE, np.round(np.linspace(0, len(chain) - 1, 3)).astype(int), strict=True):
        found[j] = chain[k]
    return found


def _frame(left: np.ndarray, right: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(..., 3, 3) body frame, columns: to the left, up, forward."""
    x = unit(left - right)
    y = unit(up - np.sum(up * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _smpl_rest() -> np.ndarray:
    rest = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        rest[j] = rest[PARENTS[j]] + OFFSETS[j]
    return rest


def _leg_length(rest: np.ndarray, hip: int, knee: int, ankle: int) -> float:
    return float(np.linalg.norm(rest[knee] - rest[hip]) + np.linalg.norm(rest[ankle] - rest[knee]))


def retarget_world(source: SourceMotion) -> tuple[np.ndarray, np.ndarray, float]:
    """SMPL global rotations (T,24,3,3) and pelvis positions (T,3) in the source's y-up world
    (metres after scaling), and the scale applied to the source's units."""
    src = map_joints(source)
    g_src, p_src = source.forward_kinematics()
    rest_src, rest_smpl = source.rest_positions(), _smpl_rest()

    # 1. root: the source root's rotation, aligned at rest by the hips-and-spine body frames
    def body(rest: np.ndarray, joints: list[int]) -> np.ndarray:
        return _frame(rest[joints[1]], rest[joints[2]], rest[joints[12]] - rest[joints[0]])

    o_root = body(rest_src, src) @ body(rest_smpl, list(range(NUM_JOINTS))).T
    world = np.empty((source.num_frames, NUM_JOINTS, 3, 3))
    world[:, 0] = g_src[:, src[0]] @ o_root

    # 2. bones: rest alignment (turned first to where the source's rest body faces, so a rig
    # that faces +x at rest gets no twisted limbs), then the swing fix onto the observed bone
    forward = o_root[:, 2]
    facing = Rotation.from_euler("y", np.arctan2(forward[0], forward[2])).as_matrix()
    rest_align = {0: o_root}
    for j in range(1, NUM_JOINTS):
        s = src[j]
        if j in LEAVES:
            o = rest_align[PARENTS[j]]
            world[:, j] = world[:, PARENTS[j]] if s is None else g_src[:, s] @ o
            continue
        end = src[CHILD[j]]
        if end is None:  # an absent leaf: the source joint's first child marks the bone's end
            end = source.parents.index(s)
        o = align_vectors(facing @ OFFSETS[CHILD[j]], rest_src[end] - rest_src[s]) @ facing
        rest_align[j] = o
        guess = g_src[:, s] @ o
        observed = p_src[:, end] - p_src[:, s]
        world[:, j] = align_vectors(guess @ OFFSETS[CHILD[j]], observed) @ guess

    # 3. root position in metres of an SMPL-sized body
    scale = metres_per_unit(source)
    return world, p_src[:, src[0]] * scale, scale


def metres_per_unit(source: SourceMotion) -> float:
    """Scale from the source's units to metres of an SMPL-sized body (by leg length)."""
    src, rest_src, rest_smpl = map_joints(source), source.rest_positions(), _smpl_rest()
    legs = [(1, 4, 7), (2, 5, 8)]
    smpl_leg = np.mean([_leg_length(rest_smpl, *leg) for leg in legs])
    src_leg = np.mean([_leg_length(rest_src, *(src[k] for k in leg)) for leg in legs])
    return float(smpl_leg / src_leg)


def local_rotations(world: np.ndarray) -> np.ndarray:
    """(T,24,3,3) local rotations from global ones."""
    local = world.copy()
    for j in range(1, NUM_JOINTS):
        local[:, j] = np.swapaxes(world[:, PARENTS[j]], -1, -2) @ world[:, j]
    return local


def heading(root_rotation: np.ndarray) -> np.ndarray:
    """(T,) yaw in radians of the body's facing (root rotation applied to SMPL's +z) in z-up."""
    facing = root_rotation @ np.array([0.0, 0.0, 1.0])
    return np.arctan2(facing[..., 1], facing[..., 0])


def floor_height(lowest_foot: np.ndarray, fps: float) -> np.ndarray:
    """(T,) floor height under a (T,) lowest-foot-joint height: see GROUND_PERCENTILE."""
    window = max(1, round(GROUND_WINDOW_S * fps))
    floor = percentile_filter(lowest_foot, GROUND_PERCENTILE, size=window, mode="nearest")
    return uniform_filter1d(floor, size=window, mode="nearest")


def place_on_stage(
    poses: np.ndarray, trans: np.ndarray, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Turn a z-up motion about z to face -Y at its first frame, centre its first pelvis on
    x = y = 0 and lift it so the lowest foot joint stands on z = 0 (robust to jumps)."""
    root = rotation_matrices(poses[:, 0])
    turn = Rotation.from_euler("z", -np.pi / 2 - heading(root[0]))
    poses = poses.copy()
    poses[:, 0] = (turn * Rotation.from_matrix(root)).as_rotvec()
    trans = turn.apply(trans - trans[:1] * [1.0, 1.0, 0.0])
    feet = forward_kinematics(poses, trans)[:, [7, 8, 10, 11], 2]
    trans[:, 2] -= floor_height(feet.min(axis=1), fps)
    return poses, trans


def _upright(source: SourceMotion) -> tuple[np.ndarray, np.ndarray]:
    """Retargeted axis-angle poses and trans, stood up into the z-up world (not yet placed)."""
    world, pelvis, _ = retarget_world(source)
    local = local_rotations(world)
    local[:, 0] = UPRIGHT.as_matrix() @ local[:, 0]
    poses = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(-1, NUM_JOINTS, 3)
    return poses, UPRIGHT.apply(pelvis)


def retarget(source: SourceMotion) -> tuple[np.ndarray, np.ndarray]:
    """SMPL axis-angle poses (T,24,3) and root trans (T,3) in the motion artifact's frame (z up,
    facing -Y at the first frame, feet on z = 0), at the source's frame rate."""
    return place_on_stage(*_upright(source), source.fps)


def bone_direction_errors(source: SourceMotion) -> dict[str, np.ndarray]:
    """Per mapped SMPL bone (named by its joint), the (T,) angle in degrees between the bone in
    the retargeted motion (through `forward_kinematics`) and the source's bone."""
    src = map_joints(source)
    joints = forward_kinematics(*_upright(source))
    p_src = UPRIGHT.apply(source.forward_kinematics()[1].reshape(-1, 3)).reshape(
        source.num_frames, -1, 3
    )
    errors = {}
    for j, c in CHILD.items():
        if j == 0 or src[c] is None:
            continue
        ours = unit(joints[:, c] - joints[:, j])
        theirs = unit(p_src[:, src[c]] - p_src[:, src[j]])
        cos = np.clip(np.sum(ours * theirs, axis=-1), -1.0, 1.0)
        errors[JOINT_NAMES[j]] = np.degrees(np.arccos(cos))
    return errors


def resample(poses: np.ndarray, trans: np.ndarray, fps: float, out_fps: float):
    """Poses (slerp per joint) and trans (linear) resampled from `fps` to `out_fps`."""
    times = np.arange(len(poses)) / fps
    out = np.arange(0.0, times[-1] + 1e-9, 1.0 / out_fps)
    resampled = np.empty((len(out), NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        resampled[:, j] = Slerp(times, Rotation.from_rotvec(poses[:, j]))(out).as_rotvec()
    moved = np.stack([np.interp(out, times, trans[:, k]) for k in range(3)], axis=1)
    return resampled, moved
