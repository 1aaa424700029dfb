"""The cutout animator: the reference person, cut out and skinned to 2D bones, dances on the CPU.

Recipe, as in Meta's AnimatedDrawings but driven by the aligned DensePose video instead of a BVH:
`prepare` (once a video) 1. checks inputs, 2. reads the person's mask and skeleton from the photo,
3. labels each person pixel with a bone, 4. builds a triangle sheet per bone with skinning
weights, 5. inpaints the background. `render` (per chunk of frames) 6. redraws the driving
joints with the photo's proportions and turns limited (bones.py), framed as the photo (framing.py:
its cut edges stay out of view), as bone transforms, 7. skins the mesh, 8. rasterizes it into
remap tables, with the driving part map deciding which limb is in front, 9. samples the photo and
composites it on the still background. No learned weights beyond MediaPipe's bundled pose model.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import cv2
import numpy as np
from numba import njit

from tasks.animate.cutout.background import (
    arm_shadow,
    body_underlay,
    clean_plate,
    mirror_outside,
)
from tasks.animate.cutout.bones import (
    ARM_CHAINS,
    BONES,
    HIPS,
    NECK,
    NUM_BONES,
    TORSO,
    Retarget,
    arms_over_legs,
    bone_transforms,
    clip_widths,
    deform,
    fit_retarget,
    hidden_arms,
    hip_band,
    joints_drawn,
    label_points,
    limit_turn,
    nearest_body_bone,
    part_to_bone,
    rest_pose,
    retarget,
    shoulder_width,
    side_cut_arms,
    width_ratios,
)
from tasks.animate.cutout.framing import Framer
from tasks.animate.cutout.mesh import CutoutMesh, build_mesh, owner_bits, warp_maps
from tasks.animate.cutout.reference import ReferenceBody, read_reference
from tasks.base import InputError

log = logging.getLogger(__name__)

MIN_FACE_PX = 12  # a face box smaller than this cannot carry identity
DOMAIN = 0.05  # mask value above which a pixel may be drawn (its soft edge included)
LAYER_GAP = 2  # transparent rows between the two stacked cutouts
ARMS = (2, 3, 4, 5, 6, 7)  # bones whose pixels may hide body the arm uncovers when it moves
BODY = (0, 8, 9, 10, 11, 12, 13)  # torso and legs: the outline an arm may lie across
LEGS = BODY[1:]
HIP_BAND = 0.7  # of the shoulder width: how far below the hip line the torso carries the thighs


@njit(cache=True)
def _over(background: np.ndarray, fg: np.ndarray, out: np.ndarray) -> None:
    """out = fg over background: (h, w, 3) uint8, fg (h, w, 4) uint8 with straight alpha."""
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            a = np.int32(fg[y, x, 3])
            for c in range(3):
                mixed = np.int32(background[y, x, c]) * (255 - a) + np.int32(fg[y, x, c]) * a
                out[y, x, c] = (mixed + 127) // 255


class CutoutAnimator:
    """Streaming animator: `prepare` once with the reference and frame 0, then `render` chunks.

    mesh_step: grid cell size in pixels, 0 = about 1/48 of the person's height (3..12 px).
    background_grow: how far past the person mask the background is inpainted, fraction of the
    frame's long side (covers the soft edge and the photo's halo).
    fit_shape: 0 keeps the photo's limb thickness, 1 makes each limb as thick as the driving
    body's (ratios clipped to 0.6..1.25), in between blends geometrically.
    """

    def __init__(self, *, mesh_step: int, fit_shape: float, background_grow: float = 0.02) -> None:
        self.mesh_step = mesh_step
        self.background_grow = background_grow
        self.fit_shape = fit_shape
        self.widths = np.ones(NUM_BONES)
        self._part_bone = part_to_bone()
        self.body: ReferenceBody | None = None
        self.mesh: CutoutMesh | None = None
        self.labels: np.ndarray | None = None  # (h, w) int8 bone per person pixel, -1 elsewhere
        self.owners: np.ndarray | None = None  # (h, w) uint16 bit per bone whose sheet draws it
        self.layers: np.ndarray | None = None  # (2h + gap, w, 4): cutout, torso without arms
        self.background: np.ndarray | None = None  # (h, w, 3) uint8 inpainted photo
        self.framer: Framer | None = None  # bone transforms per frame, framed as the photo
        self.proportions: Retarget | None = None  # the dance redrawn with the photo's
        self.full_widths = np.ones(2)  # the dance's in-plane shoulder and hip widths

    # 1.
    @staticmethod
    def check_inputs(
        reference: np.ndarray, face_box: tuple, parts: np.ndarray, joints2d: np.ndarray
    ) -> None:
        """Raise InputError naming the fix for malformed or unusable inputs."""
        if reference.ndim != 3 or reference.shape[2] != 3 or reference.dtype != np.uint8:
            raise InputError(f"reference must be (h, w, 3) uint8 RGB, got {reference.shape}")
        height, width = reference.shape[:2]
        if parts.shape[-2:] != (height, width):
            raise InputError(f"parts {parts.shape} must match the reference size {(height, width)}")
        if joints2d.shape[-2:] != (24, 2):
            raise InputError(f"joints2d must be (..., 24, 2), got {joints2d.shape}")
        top, right, bottom, left = face_box
        if not (0 <= left < right <= width and 0 <= top < bottom <= height):
            raise InputError(f"face box {face_box} lies outside the {width}x{height} reference")
        if min(right - left, bottom - top) < MIN_FACE_PX:
            raise InputError(
                f"the face is only {right - left}x{bottom - top} px: use a photo where the face "
                f"is at least {MIN_FACE_PX} px wide at the align resolution (closer, or crop)"
            )

    def prepare(
        self,
        reference: np.ndarray,
        face_box: tuple,
        parts: np.ndarray,
        joints2d: np.ndarray,
        *,
        photo_box: tuple | None = None,
        other_faces: list = (),
        clip_joints: np.ndarray | None = None,
    ) -> None:
        """Cut out the person of reference (h, w, 3) uint8 and bind it to its bones.

        face_box (top, right, bottom, left) pixels; parts (h, w) uint8 and joints2d (24, 2) are
        the first aligned driving frame, which overlays the photo's body. photo_box: where the
        real photo lies in reference (the rest is its mirror image; None: all of it);
        other_faces: face boxes of people who stay in the background. clip_joints (T, 24, 2):
        the whole clip's driving joints (default: joints2d alone), from which the driving body's
        in-plane bone lengths and home position are read.
        """
        face_box = tuple(int(round(v)) for v in face_box)
        self.check_inputs(reference, face_box, parts, joints2d)
        height, width = reference.shape[:2]
        # 2. mask and skeleton
        clip = np.asarray(joints2d if clip_joints is None else clip_joints, np.float64)
        clip = clip.reshape(-1, 24, 2)
        self.body = read_reference(
            reference,
            face_box,
            parts,
            rest_pose(clip),  # what the photo does not show is guessed hanging, not from frame 0
            photo_box=photo_box,
            other_faces=other_faces,
        )
        # 3. the dance redrawn with the photo's proportions, hung at the photo's neck
        self.full_widths = clip_widths(clip)
        self.proportions = fit_retarget(self.body.joints, limit_turn(clip, self.full_widths))
        # bone label per person pixel, -1 elsewhere
        rows, cols = np.nonzero(self.body.mask > DOMAIN)
        points = np.stack([cols, rows], axis=1).astype(np.float32)
        point_labels = label_points(points, self.body.joints, face_box, reference)
        if self.proportions.seated:
            point_labels = arms_over_legs(points, point_labels, self.body.joints)
        self.labels = np.full((height, width), -1, dtype=np.int8)
        self.labels[rows, cols] = point_labels
        cut = side_cut_arms(self.labels, self.body.joints, photo_box)
        hidden = hidden_arms(self.body.hidden)
        held = cut | hidden
        photographed, held_arm = self.labels.copy(), np.zeros(self.labels.shape, dtype=bool)
        if held.any():
            # the torso's sheet carries it, so the arm, and the cloth its bone line crosses,
            # never tear from the body; its joints follow for the drawn skeleton
            for side, chain in zip(("left", "right"), ARM_CHAINS, strict=True):
                end = BONES[chain[-1]].end
                if held[end]:  # a limit of the cut-out a user sees: one arm does not dance
                    what = (
                        f"the person's {side} arm runs out of the photo's side"
                        if cut[end]
                        else f"the photo hides the person's {side} hand"
                    )
                    log.warning("%s: that arm keeps the photo's pose", what)
            self.proportions = replace(self.proportions, held=held)
            held_arm = np.isin(self.labels, [bone for bone in ARMS if held[BONES[bone].end]])
            self.labels[held_arm] = TORSO
            point_labels = self.labels[rows, cols]
        moving, still = self.body.mask, None  # what the sheets draw; the plate holds the rest
        if self.proportions.seated:
            # a seated photo's pelvis and legs stay as photographed (bones.retarget), so they
            # stay in the plate, where nothing tears them; the arms resting on them leave it
            still = np.isin(self.labels, LEGS)
            self.labels[still] = -1
            moving = np.where(still, 0.0, self.body.mask).astype(self.body.mask.dtype)
        joints = self.body.joints
        spine = (joints[NECK], joints[list(HIPS)].mean(axis=0))
        # the arm's shadow on the body is lit to its cloth's level: it would stay on the hip as
        # a dark strip once the arm moved away (a held arm's never does). What an arm hides is
        # read with the held arm as an arm: as torso, mirrored about the spine, it widened the
        # torso the other arm uncovers, which then showed a mirror image of the chest's patch
        with_arms = np.where(held_arm, photographed, self.labels)
        moving_arms = tuple(bone for bone in ARMS if not held[BONES[bone].end])
        shade, lit = arm_shadow(reference, with_arms, BODY, moving_arms)
        fill, underlay = body_underlay(reference, with_arms, BODY, ARMS, spine, shade, held_arm)
        # what an arm hides is carried by the body bone nearest it (a hand on the hip by the
        # torso, on the thigh by the thigh); where that is a seated photo's still leg, the
        # plate shows it
        carrier = np.full(self.labels.shape, -1, dtype=np.int8)
        ys, xs = np.nonzero(fill)
        carrier[ys, xs] = nearest_body_bone(np.stack([xs, ys], axis=1), joints)
        carrier[np.isin(carrier, np.setdiff1d(BODY, np.unique(self.labels)))] = -1
        # the torso also carries the tops of the thighs in its garment, below every sheet: where
        # the legs part, the crotch between them shows the trousers, not the plate
        band = hip_band(reference, self.labels, joints, HIP_BAND * shoulder_width(joints))
        carrier[band] = TORSO
        self.owners = owner_bits(self.labels, carrier)
        # 4. bone thickness fitted to the driving body, and the mesh
        self.widths = self._fit_widths(points, point_labels, parts, np.asarray(joints2d, float))
        # 4b. the dance framed as the photo is
        self.framer = Framer(self.body.joints, self.labels, moving, self.widths)
        step = self.mesh_step or int(np.clip(round((np.ptp(rows) + 1) / 48), 3, 12))
        self.mesh = build_mesh(self.owners, self.body.joints, face_box, step)
        # 5. background and the RGBA cutouts: the photo, and the body's with arms inpainted away
        grow = max(3, round(self.background_grow * max(height, width)))
        self.background = clean_plate(reference, mirror_outside(moving, photo_box), grow, still)
        alpha = np.clip(moving * 255.0 + 0.5, 0, 255).astype(np.uint8)
        cutout = np.concatenate([lit, alpha[..., None]], axis=2)
        alpha[carrier >= 0] = 255
        body_cutout = np.concatenate([underlay, alpha[..., None]], axis=2)
        gap = np.zeros((LAYER_GAP, width, 4), dtype=np.uint8)  # keeps bilinear taps apart
        self.layers = np.concatenate([cutout, gap, body_cutout])  # (2h + gap, w, 4)
        log.info(
            "cutout ready: mask from %s, %d vertices, %d triangles, cell %d px",
            self.body.source,
            len(self.mesh.rest),
            len(self.mesh.triangles),
            step,
        )

    def _fit_widths(
        self, points: np.ndarray, labels: np.ndarray, parts: np.ndarray, joints2d: np.ndarray
    ) -> np.ndarray:
        """(14,) thickness ratios driving / photo at frame 0, raised to `fit_shape`.

        points (N, 2) and labels (N,) are the photo's person pixels and bones; parts (h, w) and
        joints2d (24, 2) the first driving frame. Both sides are subsampled (every 4th pixel).
        """
        if self.fit_shape == 0.0:
            return np.ones(NUM_BONES)
        coarse = parts[::2, ::2]
        rows, cols = np.nonzero(coarse)
        drv_points = np.stack([cols, rows], axis=1).astype(np.float32) * 2
        drv_labels = self._part_bone[coarse[rows, cols]]
        ratios = width_ratios(
            self.body.joints, points[::4], labels[::4], joints2d, drv_points, drv_labels
        )
        return ratios**self.fit_shape

    def render(self, parts: np.ndarray, joints2d: np.ndarray) -> np.ndarray:
        """Frames (n, h, w, 3) uint8 for driving parts (n, h, w) uint8 and joints2d (n, 24, 2)."""
        return self._render(parts, joints2d)[0]

    def render_layers(
        self, parts: np.ndarray, joints2d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frames (n, h, w, 3) uint8 and the person's alpha (n, h, w) float32 in [0, 1]."""
        frames, alphas, _ = self._render(parts, joints2d)
        return frames, alphas.astype(np.float32) / 255.0

    def render_tracked(
        self, parts: np.ndarray, joints2d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frames (n, h, w, 3) uint8 and the joints (n, 24, 2) float32 where each frame draws
        the photo's skeleton: framed as the photo, the dancer need not stand where the driving
        body does, and an evaluation compares the two there."""
        frames, _, drawn = self._render(parts, joints2d)
        return frames, drawn

    def _render(
        self, parts: np.ndarray, joints2d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames (n, h, w, 3) uint8, alphas (n, h, w) uint8 and drawn joints (n, 24, 2)."""
        if self.body is None or self.mesh is None:
            raise RuntimeError("call prepare() before render()")
        # 6. bone transforms for the chunk: turns limited, photo proportions, framed as the photo
        driving = np.asarray(joints2d, np.float64)
        posed = retarget(limit_turn(driving, self.full_widths), self.proportions)
        drive = bone_transforms(self.body.joints, driving, self.widths)  # depth lookup
        frames = np.empty((*parts.shape, 3), dtype=np.uint8)
        alphas = np.empty(parts.shape, dtype=np.uint8)
        drawn = np.empty((len(parts), 24, 2), dtype=np.float32)
        body_offset = parts.shape[1] + LAYER_GAP
        for t in range(len(parts)):
            # 7. skin, 8. rasterize
            transforms = self.framer(posed[t])
            drawn[t] = joints_drawn(self.body.joints, transforms)
            screen = deform(self.mesh.rest, self.mesh.weights, transforms)
            driving_bones = self._part_bone[parts[t]]
            map_x, map_y, sheet = warp_maps(self.mesh, screen, self.owners, driving_bones, drive[t])
            # 9. sample (torso and legs from the body's own cutout, stacked below) and composite
            map_y[np.isin(sheet, BODY)] += body_offset
            fg = cv2.remap(self.layers, map_x, map_y, cv2.INTER_LINEAR)
            _over(self.background, fg, frames[t])
            alphas[t] = fg[..., 3]
        return frames, alphas, drawn
