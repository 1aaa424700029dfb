"""Framing of the cut-out: the photo's cut edges stay out of view, an uncut body stays in view.

A photo that shows only part of the body ends at its frame edge, and the person pixels on that
edge ("cut points") must never come into view: the output would show a stump or a straight cut
(a half-body photo's arms lifted, its waist rising). Per frame, on the retargeted joints:
1. the whole body shifts by the smallest vector that keeps the torso's and head's cut points out
   of view; where the photo is not cut, the body's outline (arms aside) is kept inside the frame
   instead (a full-body photo keeps its feet in; a cut side wins over an uncut one), and where
   the body is cut but the head is not, the head is kept in;
   Where no shift can (a close-up cut on opposite sides), the whole pose is damped towards the
   photo's until one can;
2. the head and each limb whose bones carry cut points turn from their photo pose (rigid with
   the parent) towards the driving pose only as far as keeps those points out of view: a cut-off
   arm still swings, as far as the frame hides its cut.
A cut point on the frame's outermost row or column counts as out of view, so the home pose is.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tasks.animate.cutout.bones import (
    BONES,
    HEAD,
    NECK,
    TORSO,
    affine_scale,
    bone_affine,
    bone_transforms,
    children,
    shoulder_width,
)
from tasks.body.skeleton import PARENTS

HIDDEN_MARGIN = 0.0  # px: a cut point this close to (or past) the frame edge is not seen
MIN_CUT = 0.5  # a limb cut by the frame on at least this share of its thickness (radius) is pinned
OUTLINE_STEP = 3  # every this many outline pixels is checked for the keep-in-frame shift
SEARCH_STEPS = 6  # bisection steps of a limb's turn towards the driving pose
TOP, RIGHT, BOTTOM, LEFT = range(4)
ARMS = (2, 3, 4, 5, 6, 7)
PINNABLE = (HEAD, 2, 5, 8, 11, 3, 6, 9, 12, 4, 7, 10, 13)  # every bone after its parent


def _subtree(bone: int) -> list[int]:
    """`bone` and every bone hanging below it."""
    out = [bone]
    for child in children(bone):
        out += _subtree(child)
    return out


def _joints_below(joint: int) -> list[int]:
    """SMPL joints whose chain to the root passes through `joint`, `joint` included."""
    out = [joint]
    for child, parent in enumerate(PARENTS):
        if parent == joint:
            out += _joints_below(child)
    return out


def _largest_hidden(hidden: Callable[[float], bool]) -> float:
    """The largest alpha in [0, 1] (to SEARCH_STEPS bisections) whose pose keeps the cuts hidden;
    hidden(0) is the photo's own pose, which always does."""
    low, high = 0.0, 1.0
    for _ in range(SEARCH_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if hidden(middle) else (low, middle)
    return low


class Framer:
    """Per-frame bone transforms of retargeted joints, framed as the photo is.

    reference (24, 2) photo joints; labels (h, w) int8 bone per person pixel (-1 elsewhere);
    mask (h, w) float person mask; widths (14,) limb thickness ratios.
    """

    def __init__(
        self, reference: np.ndarray, labels: np.ndarray, mask: np.ndarray, widths: np.ndarray
    ) -> None:
        self.reference = np.asarray(reference, np.float64)
        self.widths = widths
        self.size = labels.shape
        height, width = labels.shape
        person = (mask > 0.5) & (labels >= 0)
        sides = (person[0], person[:, -1], person[-1], person[:, 0])
        points, bones, side = [], [], []
        for index, row in enumerate(sides):
            at = np.nonzero(row)[0]
            fixed = {TOP: 0, RIGHT: width - 1, BOTTOM: height - 1, LEFT: 0}[index]
            xy = (
                np.stack([at, np.full_like(at, fixed)], 1)
                if index in (TOP, BOTTOM)
                else np.stack([np.full_like(at, fixed), at], 1)
            )
            points.append(xy)
            bones.append(labels[xy[:, 1], xy[:, 0]])
            side.append(np.full(len(at), index))
        self.cut_points = np.concatenate(points).astype(np.float64)
        self.cut_bones = np.concatenate(bones)
        self.cut_side = np.concatenate(side)
        self._drop_grazing_cuts(shoulder_width(self.reference))
        # sides where the body (arms aside: they may leave the frame) runs out of the photo
        self.cut_sides = {int(s) for s in self.cut_side[~np.isin(self.cut_bones, ARMS)]}
        self.head_cut_sides = {int(s) for s in self.cut_side[self.cut_bones == HEAD]}
        contours, _ = cv2.findContours(
            person.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        outline = np.concatenate([c[:, 0] for c in contours])[::OUTLINE_STEP] if contours else []
        self.outline = np.asarray(outline, np.float64).reshape(-1, 2)
        self.outline_bones = labels[self.outline[:, 1].astype(int), self.outline[:, 0].astype(int)]
        # hands flung past the frame edge are fine; the head, torso and feet stay in
        kept = ~np.isin(self.outline_bones, ARMS)
        self.outline, self.outline_bones = self.outline[kept], self.outline_bones[kept]
        self.body_cut = np.isin(self.cut_bones, (TORSO, HEAD))
        self.pinned = [bone for bone in PINNABLE if np.isin(self.cut_bones, _subtree(bone)).any()]

    def _drop_grazing_cuts(self, unit: float) -> None:
        """Forget a limb's cut on a side narrower than MIN_CUT of the limb's thickness: the
        fingertips or toes touching the frame edge are no cut-off arm or leg, and pinning them
        would keep the whole arm hanging as in the photo."""
        keep = np.ones(len(self.cut_bones), dtype=bool)
        for bone, side in set(zip(self.cut_bones.tolist(), self.cut_side.tolist(), strict=True)):
            if bone in (TORSO, HEAD):
                continue
            here = (self.cut_bones == bone) & (self.cut_side == side)
            if here.sum() < MIN_CUT * BONES[bone].radius * unit:
                keep &= ~here
        self.cut_points = self.cut_points[keep]
        self.cut_bones, self.cut_side = self.cut_bones[keep], self.cut_side[keep]

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        """(14, 2, 3) float32 bone transforms for one frame's retargeted joints (24, 2)."""
        joints = self._damp(np.array(joints, np.float64))
        transforms = self._transforms(joints)
        shift = self._body_shift(transforms)
        for bone in self.pinned:
            if self._turn(bone, joints, transforms, shift):
                transforms = self._transforms(joints)
        everything = self._moved(transforms, self.cut_points, self.cut_bones)
        shift = self._shift(everything, self.cut_side, transforms)
        transforms[:, :, 2] += shift
        return transforms.astype(np.float32)

    def _transforms(self, joints: np.ndarray) -> np.ndarray:
        return bone_transforms(self.reference, joints[None], self.widths)[0].astype(np.float64)

    def _body_shift(self, transforms: np.ndarray) -> np.ndarray:
        """(2,) shift keeping the torso's and head's cut points out of view (see `_shift`)."""
        body = self.body_cut
        moved = self._moved(transforms, self.cut_points[body], self.cut_bones[body])
        return self._shift(moved, self.cut_side[body], transforms)

    def _damp(self, joints: np.ndarray) -> np.ndarray:
        """joints (24, 2) moved back towards the photo's pose (hung at the same neck) until no
        shift hides the torso's and head's cut points any better: a photo cut on opposite
        sides (a close-up) can only sway a little."""
        if not self.body_cut.any():
            return joints
        photo = self.reference + (joints[NECK] - self.reference[NECK])

        def hidden(alpha: float) -> bool:
            transforms = self._transforms(photo + alpha * (joints - photo))
            moved = self._moved(transforms, self.cut_points[self.body_cut],
                                self.cut_bones[self.body_cut])  # fmt: skip
            shift = self._shift(moved, self.cut_side[self.body_cut], transforms)
            return not self._in_view(moved + shift).any()

        if hidden(1.0):
            return joints
        return photo + _largest_hidden(hidden) * (joints - photo)

    @staticmethod
    def _moved(transforms: np.ndarray, points: np.ndarray, bones: np.ndarray) -> np.ndarray:
        """points (N, 2) of bones (N,) carried by their bone's affine of transforms (14, 2, 3)."""
        affine = transforms[bones]
        return np.einsum("nij,nj->ni", affine[:, :, :2], points) + affine[:, :, 2]

    def _shift(self, cut: np.ndarray, side: np.ndarray, transforms: np.ndarray) -> np.ndarray:
        """(2,) smallest shift putting the moved cut points cut (N, 2) that are in view back past
        their photo side `side` (N,), and the moved outline inside the frame on the sides the
        photo does not cut. Where the two disagree, the cut side wins; cut sides that disagree
        split the difference.
        """
        outline = self._moved(transforms, self.outline, self.outline_bones)
        seen = self._in_view(cut)  # a cut end already out of view (past any side) is left alone
        cut, side = cut[seen], side[seen]
        shift = np.zeros(2)
        for axis, (low_side, high_side) in enumerate(((LEFT, RIGHT), (TOP, BOTTOM))):
            last = self.size[1 - axis] - 1
            coord = cut[:, axis]
            # a cut point of the low side needs coord + s <= margin, of the high side >= last - m
            upper = HIDDEN_MARGIN - coord[side == low_side].max(initial=-np.inf)
            lower = last - HIDDEN_MARGIN - coord[side == high_side].min(initial=np.inf)
            if lower > upper:
                shift[axis] = (lower + upper) / 2
                continue
            # the uncut sides keep the outline in: outline + s >= 0 and outline + s <= last;
            # where the body is cut, still the head (unless it is cut there too)
            keep_low, keep_high = -np.inf, np.inf
            low, high = self._kept(outline, low_side), self._kept(outline, high_side)
            if len(low):
                keep_low = -low[:, axis].min()
            if len(high):
                keep_high = last - high[:, axis].max()
            if keep_low <= keep_high:
                want = np.clip(0.0, keep_low, keep_high)
            else:  # taller than the frame: centred
                want = (keep_low + keep_high) / 2
            shift[axis] = np.clip(want, lower, upper)
        return shift

    def _kept(self, outline: np.ndarray, side: int) -> np.ndarray:
        """The part of the moved outline (M, 2) that must stay inside the frame at `side`."""
        if side not in self.cut_sides:
            return outline
        if side not in self.head_cut_sides:
            return outline[self.outline_bones == HEAD]
        return outline[:0]

    def _turn(
        self, bone: int, joints: np.ndarray, transforms: np.ndarray, shift: np.ndarray
    ) -> bool:
        """Turn `bone` of joints (24, 2) (in place, with the joints below it) from the driving
        pose back towards its photo pose until its subtree's cut points are out of view.
        Returns whether it turned."""
        spec = BONES[bone]
        chosen = np.isin(self.cut_bones, _subtree(bone))
        points = self.cut_points[chosen]
        start, end = joints[spec.start], joints[spec.end].copy()
        parent = transforms[spec.parent]
        pinned = parent[:, :2] @ (self.reference[spec.end] - self.reference[spec.start])
        driven = end - start
        scale = affine_scale(transforms[TORSO])
        turn = _angle(driven) - _angle(pinned)
        turn = (turn + np.pi) % (2 * np.pi) - np.pi

        def pose(alpha: float) -> np.ndarray:
            length = (1 - alpha) * np.linalg.norm(pinned) + alpha * np.linalg.norm(driven)
            angle = _angle(pinned) + alpha * turn
            return start + length * np.array([np.cos(angle), np.sin(angle)])

        def hidden(alpha: float) -> bool:
            affine = bone_affine(bone, self.reference, start, pose(alpha), scale, self.widths[bone])
            moved = points @ affine[:, :2].T + affine[:, 2] + shift
            return not self._in_view(moved).any()

        if hidden(1.0):
            return False
        new_end = pose(_largest_hidden(hidden))
        delta = _angle(new_end - start) - _angle(driven)
        rotation = np.array([[np.cos(delta), -np.sin(delta)], [np.sin(delta), np.cos(delta)]])
        below = _joints_below(spec.end)
        joints[below] = new_end + (joints[below] - end) @ rotation.T
        return True

    def _in_view(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: points (N, 2) farther than HIDDEN_MARGIN inside the frame."""
        height, width = self.size
        x, y = points[:, 0], points[:, 1]
        return (
            (x > HIDDEN_MARGIN) & (x < width - 1 - HIDDEN_MARGIN)
            & (y > HIDDEN_MARGIN) & (y < height - 1 - HIDDEN_MARGIN)
        )  # fmt: skip


def _angle(vector: np.ndarray) -> float:
    return float(np.arctan2(vector[1], vector[0]))
