"""Partner holds in couple-dance captures: found from the pair, then replaced by a free arm.

CMU's salsa takes capture lead and follow together in one space, so a hand that holds the partner
is one that stays close to the partner's hands or torso. Solo synthesis cannot show the partner,
and a held arm on its own reads as a frozen reach, so each held arm is replaced by the dancer's
own free arm mirrored onto that side (real motion of the same instant), slerped in and out.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import binary_closing, label, maximum_filter1d, minimum_filter1d
from scipy.spatial.transform import Rotation
from skimage.filters import apply_hysteresis_threshold

from tasks.body.skeleton import forward_kinematics_matrices, rotation_matrices
from tasks.motion.library.clips import LIBRARY_FPS, MotionClip
from tasks.motion.library.retarget import map_joints, metres_per_unit
from tasks.motion.library.source import SourceMotion

# A hand holds when it comes within HOLD_ON of a partner's hand or torso point and counts as
# held until it is farther than HOLD_OFF (hysteresis); gaps shorter than GAP_S are bridged and
# holds shorter than MIN_HOLD_S dropped (a brush in passing is not a hold).
HOLD_ON, HOLD_OFF = 0.15, 0.22  # m
GAP_S, MIN_HOLD_S = 0.3, 0.5
_HANDS = (22, 23)  # SMPL left and right hand: the source joint that SMPL's hand is mapped to
_WRISTS = (20, 21)
_TORSO = (0, 3, 6, 9, 12, 13, 14, 16, 17)  # pelvis, spine, neck, collars, shoulders
# SMPL joints of each arm (collar, shoulder, elbow, wrist, hand), left then right
ARMS = ((13, 16, 18, 20, 22), (14, 17, 19, 21, 23))
BLEND_S = 0.25  # a replaced arm is slerped in and out over this long
FROZEN_S, FROZEN_BOX = 2.0, 0.15  # a wrist this still (m, each axis) relative to the chest


def _points(source: SourceMotion) -> tuple[np.ndarray, np.ndarray]:
    """Hands (T, 2, 3) and torso points (T, K, 3) of a source motion, metres, capture space."""
    src = map_joints(source)
    positions = source.forward_kinematics()[1] * metres_per_unit(source)
    hands = [src[h] if src[h] is not None else src[w] for h, w in zip(_HANDS, _WRISTS, strict=True)]
    return positions[:, hands], positions[:, [src[j] for j in _TORSO]]


def _runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """`mask` without its runs of True shorter than `min_len`."""
    labels, count = label(mask)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= min_len
    keep[0] = False
    return keep[labels]


def hold_mask(distance: np.ndarray, fps: float) -> np.ndarray:
    """(T,) bool holds from a (T,) hand-to-partner distance in metres (hysteresis, gaps, length)."""
    held = apply_hysteresis_threshold(-distance, -HOLD_OFF, -HOLD_ON)
    gap = max(1, round(GAP_S * fps))
    padded = np.pad(held, gap)  # closing must not grow holds from outside the take
    held = binary_closing(padded, np.ones(gap + 1, bool))[gap:-gap]
    return _runs(held, max(1, round(MIN_HOLD_S * fps)))


def partner_holds(a: SourceMotion, b: SourceMotion) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) bool per dancer (left hand, right hand): holding the partner, at the source fps.

    `a` and `b` must be captured together (same frames, same capture space)."""
    hands_a, torso_a = _points(a)
    hands_b, torso_b = _points(b)

    def nearest(hands: np.ndarray, partner: np.ndarray) -> np.ndarray:
        return np.linalg.norm(hands[:, :, None] - partner[:, None], axis=-1).min(axis=2)

    partner_a = np.concatenate([hands_b, torso_b], axis=1)
    partner_b = np.concatenate([hands_a, torso_a], axis=1)
    held_a = np.stack([hold_mask(d, a.fps) for d in nearest(hands_a, partner_a).T], axis=1)
    held_b = np.stack([hold_mask(d, b.fps) for d in nearest(hands_b, partner_b).T], axis=1)
    return held_a, held_b


def resample_holds(held: np.ndarray, fps: float, out_fps: float, frames: int) -> np.ndarray:
    """(frames, 2) holds at `out_fps` from (T, 2) at `fps` (nearest source frame)."""
    index = np.minimum(np.round(np.arange(frames) * fps / out_fps).astype(int), len(held) - 1)
    return held[index]


def _weight(mask: np.ndarray, fps: float) -> np.ndarray:
    """(T,) 0..1: 1 inside `mask`, ramping linearly to 0 over BLEND_S outside it."""
    width = max(1, round(BLEND_S * fps))
    frames = np.arange(len(mask))
    inside = np.nonzero(mask)[0]
    if inside.size == 0:
        return np.zeros(len(mask))
    distance = np.abs(frames[:, None] - inside[None]).min(axis=1)
    return np.clip(1.0 - distance / (width + 1), 0.0, 1.0)


def free_held_arms(poses: np.ndarray, held: np.ndarray, fps: float) -> np.ndarray:
    """Poses (T, 24, 3) where an arm held alone takes the other arm's local rotations mirrored,
    slerped in and out over BLEND_S.

    Frames where both hands are held keep their capture (nothing free to mirror); synthesis
    avoids them."""
    out = poses.copy()
    flip = np.array([1.0, -1.0, -1.0])  # a left/right mirror of a local rotation (mirror_clip)
    for side in (0, 1):
        weight = _weight(held[:, side] & ~held[:, 1 - side], fps)
        frames = np.nonzero(weight > 0)[0]
        if frames.size == 0:
            continue
        w = weight[frames, None, None]
        own = Rotation.from_rotvec(poses[frames][:, ARMS[side]].reshape(-1, 3))
        mirrored = Rotation.from_rotvec((poses[frames][:, ARMS[1 - side]] * flip).reshape(-1, 3))
        step = (own.inv() * mirrored).as_rotvec().reshape(len(frames), -1, 3)
        mixed = own * Rotation.from_rotvec((step * w).reshape(-1, 3))  # slerp own -> mirrored
        out[frames[:, None], list(ARMS[side])] = mixed.as_rotvec().reshape(len(frames), -1, 3)
    return out


def free_arms(clip: MotionClip) -> MotionClip:
    """`clip` whose arms that hold a partner (`held`, from the pair) or stay still (a hold whose
    partner was not captured, e.g. side-by-side Charleston) are replaced by the free arm mirrored;
    `held` then marks both kinds. Both arms still together is a pose (ballet's arm positions
    through a jump), not a hold: it stays."""
    still = still_arms(clip.poses.astype(np.float64), clip.trans.astype(np.float64), LIBRARY_FPS)
    held = still & ~still[:, ::-1]
    if clip.held is not None:
        held |= clip.held
    if not held.any():
        return dataclasses.replace(clip, held=held)
    poses = free_held_arms(clip.poses, held, LIBRARY_FPS)
    return dataclasses.replace(clip, poses=poses.astype(np.float32), held=held)


def still_arms(poses: np.ndarray, trans: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) bool: the left / right wrist stays in a box of FROZEN_BOX (each side) relative to
    the chest for FROZEN_S or longer, an arm held still like a reach for a partner."""
    world, joints = forward_kinematics_matrices(rotation_matrices(poses), trans)
    rel = np.einsum("tji,twj->twi", world[:, 9], joints[:, _WRISTS] - joints[:, 9:10])
    window = round(FROZEN_S * fps)
    if len(rel) < window:
        return np.zeros((len(rel), 2), bool)
    # box of each window that starts at frame s: filters centred at s + window // 2
    shift = window // 2
    spread = maximum_filter1d(rel, window, axis=0) - minimum_filter1d(rel, window, axis=0)
    starts = (spread.max(axis=2) < FROZEN_BOX)[shift : shift + len(rel) - window + 1]
    began = np.zeros(rel.shape[:2], int)
    began[: len(starts)] = starts
    count = np.cumsum(np.pad(began, ((1, 0), (0, 0))), axis=0)  # still windows begun before f
    frames = np.arange(len(rel))
    return count[frames + 1] > count[np.maximum(frames - window + 1, 0)]  # inside a still window
