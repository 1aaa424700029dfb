"""What a person sees in an animated frame, without ground truth, for any animator.

Per output frame, from the person segmentation of that frame (the dancer), the reference photo
with its own segmentation, and the aligned driving part map (DensePose parts 1..24, 0 = none):
- coverage: share of the driving silhouette, limited to the parts the photo shows, that the dancer
  covers (within a small tolerance: a cut-out keeps the photo's limb thickness);
- leftovers: share of the photo's person pixels that, away from the dancer and the driving body
  (with the photo's person where the animator's bones carried it, when it records them), still
  carry the photo's colours (the photo's hands left behind in the background), counting
  too the photo's hands and forearms still shown, give or take a few pixels, away from the driving
  arms, over the dancer's own body as well (hands left on the hips while the arms dance);
- fragments: person components besides the main body, each above FRAGMENT_SHARE of the frame,
  lying off the driving body (a piece the segmenter split from a drawn limb is that limb) and
  off the photo's background shown as photographed (a rock taken for a person);
- fill quality: texture of the filled plate (where the photo's person stood and no one stands
  now) against a ring of untouched background around it, and no seam along its outline; 1 is as
  textured as the surroundings, a blurred disc on a textured wall scores near 0;
- background change: mean change of the pixels no person covers between two frames.
Lengths are fractions of the frame's long side, so the measures do not depend on resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tasks.body.skeleton import DENSEPOSE_BONES, PARENTS
from tasks.evaluate.segment import PERSON

COVER_TOLERANCE = 0.025  # a driving pixel this close to the dancer counts as covered
MAX_SHIFT = 0.2  # the driving silhouette may slide this far onto the dancer before coverage
REGISTER_SIDE = 128  # px: the slide is found by correlating masks at this long side
CLEAR = 0.015  # leftovers and plate are looked for this far from the dancer and driving body
SAME_COLOUR = 14.0  # RGB distance (0..441) below which an output pixel still shows the photo
DISTINCT = 30.0  # a person pixel this far from the photo's background guess could be seen
FRAGMENT_SHARE = 0.002  # smallest fragment counted, fraction of the frame's pixels
ON_BODY = 0.5  # a component with more of its pixels on the drawn driving body is the body's
FILL_GROW = 0.03  # the plate reaches this far past the photo's person (the fill's soft edge)
RING = 0.08  # the surroundings compared with the plate: a ring this wide past FILL_GROW
TEXTURE_FLOOR = 3.0  # mean |Laplacian| (grey levels) of a flat wall: flat fills pass there
SEAM_TOLERANCE = 2.5  # a contour this many times edgier than the surroundings' is a seam
MIN_REGION = 0.002  # plate or ring smaller than this share of the frame: fill not measured
VISIBLE = 0.5  # MediaPipe landmark visibility above which the photo's forearm is located
FOREARM_WIDTH = 0.15  # radius of the forearm and hand core, fraction of the elbow-wrist length
FOREARMS = ((13, 15, 19, 17, 21), (14, 16, 20, 18, 22))  # elbow, wrist, finger landmarks per arm
ARM_PARTS = (3, 4, 15, 16, 17, 18, 19, 20, 21, 22)  # DensePose arms and hands
ARM_ENDS = (18, 19, 20, 21, 22, 23)  # SMPL elbows, wrists, hands: end joints of the arm bones
CARRIED = 0.012  # a forearm pixel matching the photo this close still counts (the torso moved)
BODY_AROUND = 0.03  # the dancer's colour around a spot: its body averaged at this scale
NECK, HIPS = 12, (1, 2)  # SMPL joints: the spine a drawn body is matched by
MIN_BONE = 0.15  # of the spine: a limb bone this short in 2D gives no direction (turns with it)
BONE_STRETCH = (0.25, 4.0)  # drawn / driving length of a limb bone, relative to the spine's
BONE_PARTS = {
    bone: tuple(p for p, b in DENSEPOSE_BONES.items() if b == bone)
    for bone in dict.fromkeys(DENSEPOSE_BONES.values())
}  # SMPL bone -> the DensePose parts it carries
ALWAYS_SHOWN = (1, 2, 23, 24)  # torso and head: the align stage found the photo's face
SHOWN_UNDER_PHOTO = 0.3  # without landmarks, a part this much under the photo's person is shown
# DensePose part -> MediaPipe Pose landmarks (proximal, distal) of its segment; "left" is the
# person's own left in both (tasks/animate/cutout/bones.py BONES lists the same parts).
PART_SEGMENTS = {
    15: (11, 13), 17: (11, 13), 16: (12, 14), 18: (12, 14),  # upper arms
    19: (13, 15), 21: (13, 15), 20: (14, 16), 22: (14, 16),  # lower arms
    4: (15, 19), 3: (16, 20),  # hands
    8: (23, 25), 10: (23, 25), 7: (24, 26), 9: (24, 26),  # upper legs
    12: (25, 27), 14: (25, 27), 11: (26, 28), 13: (26, 28),  # lower legs
    5: (27, 31), 6: (28, 32),  # feet
}  # fmt: skip


@dataclass(frozen=True)
class PhotoBody:
    """The reference photo as the metrics need it, computed once per clip.

    image (h, w, 3) float32 lightly blurred RGB; person (h, w) bool; distinct (h, w) bool: person
    pixels whose colour differs from the photo's background guess (only those can be seen left
    behind); shown (25,) bool: DensePose parts the photo shows; forearms (h, w) bool: the
    distinct pixels along its forearms and hands, which must leave with the arms.
    """

    image: np.ndarray
    person: np.ndarray
    distinct: np.ndarray
    shown: np.ndarray
    forearms: np.ndarray


@dataclass(frozen=True)
class DrawnBody:
    """Where a frame's body is asked for: the driving parts (h, w) uint8; placed: where the
    animator says it drew them (not slid onto the dancer); person and forearms (h, w) bool:
    where it says it drew the photo's person and its forearm cores (`carried`), or None."""

    parts: np.ndarray
    placed: bool = False
    person: np.ndarray | None = None
    forearms: np.ndarray | None = None


@dataclass(frozen=True)
class FrameCheck:
    """One frame's measures and the masks behind them (h, w) bool, for contact sheets."""

    coverage: float
    leftovers: float
    fragments: int
    fill_quality: float
    dancer: np.ndarray
    silhouette: np.ndarray  # driving parts the photo shows
    missing: np.ndarray  # silhouette the dancer does not cover
    leftover: np.ndarray
    fragment: np.ndarray


def _px(fraction: float, shape: tuple[int, ...]) -> int:
    return max(1, round(fraction * max(shape[:2])))


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), disc) > 0


def _smooth(image: np.ndarray) -> np.ndarray:
    """float32 RGB blurred just enough that video compression noise is not a colour change."""
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0)


def shown_parts(
    person: np.ndarray, landmarks: np.ndarray | None, first_parts: np.ndarray
) -> np.ndarray:
    """(25,) bool: the DensePose parts the photo shows.

    With landmarks (33, 3) of the photo, a limb part is shown when its proximal landmark and the
    middle of its segment lie in the frame, the middle on the person (a waist-up photo's hips
    sit at its edge, its knees below it). Without, a part is shown when SHOWN_UNDER_PHOTO of its
    first driving frame (first_parts (h, w), laid over the photo by the align stage) lies on the
    photo's person (h, w) bool.
    """
    height, width = person.shape
    shown = np.zeros(25, dtype=bool)
    shown[list(ALWAYS_SHOWN)] = True
    if landmarks is None:
        counts = np.bincount(first_parts.ravel(), minlength=25)
        on_person = np.bincount(first_parts[person].ravel(), minlength=25)
        shown |= on_person >= SHOWN_UNDER_PHOTO * np.maximum(counts, 1)
        shown[0] = False
        return shown
    near = _dilate(person, _px(0.01, person.shape))
    for part, (a, b) in PART_SEGMENTS.items():
        middle = (landmarks[a, :2] + landmarks[b, :2]) / 2
        in_frame = [0 <= p[0] < width and 0 <= p[1] < height for p in (landmarks[a], middle)]
        shown[part] = all(in_frame) and bool(near[int(middle[1]), int(middle[0])])
    return shown


def forearm_mask(landmarks: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """(h, w) bool cores of the forearms and hands of landmarks (33, 3) whose elbow and wrist are
    visible: lines elbow-wrist and wrist-each finger; empty without landmarks."""
    mask = np.zeros(shape[:2], np.uint8)
    if landmarks is None:
        return mask > 0
    for elbow, wrist, *fingers in FOREARMS:
        if min(landmarks[elbow, 2], landmarks[wrist, 2]) < VISIBLE:
            continue
        points = np.round(landmarks[[elbow, wrist, *fingers], :2]).astype(int)
        radius = FOREARM_WIDTH * float(np.linalg.norm(points[1] - points[0]))
        for end in range(1, len(points)):
            start = points[min(end - 1, 1)]
            cv2.line(mask, tuple(start), tuple(points[end]), 1, max(1, round(2 * radius)))
    return mask > 0


def photo_body(
    image: np.ndarray, mask: np.ndarray, shown: np.ndarray, landmarks: np.ndarray | None = None
) -> PhotoBody:
    """The photo (h, w, 3) uint8 with its person mask (h, w) float, shown parts (25,) and its
    landmarks (33, 3) when found."""
    person = mask > PERSON
    # The background guess: the photo with its person inpainted away, at a quarter size.
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    hole = cv2.resize(_dilate(person, _px(0.01, person.shape)).astype(np.uint8), small.shape[1::-1])
    guess = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    guess = cv2.resize(guess, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    smooth = _smooth(image)
    distinct = person & (np.linalg.norm(smooth - guess.astype(np.float32), axis=-1) > DISTINCT)
    return PhotoBody(
        smooth, person, distinct, shown, distinct & forearm_mask(landmarks, image.shape)
    )


def register(silhouette: np.ndarray, dancer: np.ndarray) -> np.ndarray:
    """(2, 3) float32 translation (up to MAX_SHIFT) sliding silhouette (h, w) bool to where it
    overlaps dancer (h, w) bool most.

    An animator may hang the dance from the photo's own body (its neck, its framing) rather than
    where the driving video stands; coverage asks whether the parts are there, not where.
    """
    scale = REGISTER_SIDE / max(silhouette.shape)
    size = (max(1, round(silhouette.shape[1] * scale)), max(1, round(silhouette.shape[0] * scale)))
    small_s = cv2.resize(silhouette.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small_d = cv2.resize(dancer.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    reach = max(1, round(MAX_SHIFT * REGISTER_SIDE))
    padded = cv2.copyMakeBorder(small_d, reach, reach, reach, reach, cv2.BORDER_CONSTANT, value=0)
    scores = cv2.matchTemplate(padded, small_s, cv2.TM_CCORR)  # (2 reach + 1) squared shifts
    scores[reach, reach] += 1e-3  # ties (an empty dancer) keep the silhouette where it is
    dy, dx = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return np.float32([[1, 0, (dx - reach) / scale], [0, 1, (dy - reach) / scale]])


def framed_parts(parts: np.ndarray, driving: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """parts (h, w) uint8 moved onto the skeleton the animator drew (24, 2) from the driving
    joints (24, 2): torso and head by the similarity that takes the driving spine (neck and the
    middle of the hips) onto the drawn one, each limb part by its bone (DENSEPOSE_BONES): turned
    onto the drawn bone, scaled along it by their length ratio and across it by the spine's scale.

    An animator that frames the dance as the photo is (a cut-out pinned at its cut edges) draws
    the body elsewhere, and farther than `register` slides; one that keeps a limb in the photo's
    pose (a seated photo's legs, arms the frame cuts) draws that limb elsewhere too. Both are
    asked for the parts where they drew them. The spine alone scales: a photo turned aside has
    narrower shoulders than the driving body, which would shrink the parts asked for."""
    driving, drawn = (np.asarray(j, np.float64) @ np.array([1, 1j]) for j in (driving, drawn))
    (neck, hips), (neck2, hips2) = _spine(driving), _spine(drawn)
    if abs(neck - hips) < 1e-6:  # no spine to match: leave the parts where they are
        return parts
    turn = (neck2 - hips2) / (neck - hips)  # scale and rotation
    size = parts.shape[::-1]
    limbs = np.isin(parts, list(DENSEPOSE_BONES))
    placed = cv2.warpAffine(
        np.where(limbs, 0, parts), _affine(_rotation(turn), hips, hips2), size,
        flags=cv2.INTER_NEAREST,
    )  # fmt: skip
    shortest = MIN_BONE * abs(neck - hips)
    for (start, end), group in BONE_PARTS.items():
        bone = np.where(np.isin(parts, group), parts, 0)
        if not bone.any():
            continue
        vector, drawn_vector = driving[end] - driving[start], drawn[end] - drawn[start]
        linear = _rotation(turn)  # a bone too short to give a direction turns with the spine
        if min(abs(vector), abs(drawn_vector) / abs(turn)) >= shortest:
            along = np.clip(abs(drawn_vector) / abs(vector * turn), *BONE_STRETCH)
            linear = (
                _rotation(drawn_vector / abs(drawn_vector))
                @ np.diag([along * abs(turn), abs(turn)])
                @ _rotation(vector / abs(vector)).T
            )
        moved = cv2.warpAffine(
            bone, _affine(linear, driving[start], drawn[start]), size, flags=cv2.INTER_NEAREST
        )
        placed = np.where(moved > 0, moved, placed)
    return placed


def _spine(joints: np.ndarray) -> tuple[complex, complex]:
    """(neck, middle of the hips) of joints (24,) complex."""
    return complex(joints[NECK]), complex(joints[list(HIPS)].mean())


def _rotation(factor: complex) -> np.ndarray:
    """(2, 2) matrix of multiplying by the complex factor (a turn and a scale)."""
    return np.array([[factor.real, -factor.imag], [factor.imag, factor.real]])


def _affine(linear: np.ndarray, source: complex, target: complex) -> np.ndarray:
    """(2, 3) float32: linear (2, 2) about the point source, moved onto target."""
    shift = np.array([target.real, target.imag]) - linear @ np.array([source.real, source.imag])
    return np.float32(np.hstack([linear, shift[:, None]]))


def _segment_distances(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(n, k) distances of points (n,) complex to the segments starts -> ends (k,) complex."""
    along = ends - starts
    t = ((points[:, None] - starts) * along.conj()).real / np.maximum(np.abs(along) ** 2, 1e-9)
    return np.abs(points[:, None] - (starts + np.clip(t, 0.0, 1.0) * along))


@dataclass(frozen=True)
class BoneOwners:
    """Pixels (rows, cols) of the photo and the bone of its skeleton each goes with (the bone's
    end joint), in an image of `shape`."""

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    bone: np.ndarray


def bone_owners(
    where: np.ndarray, photo_joints: np.ndarray, ends: tuple[int, ...] = ()
) -> BoneOwners:
    """The pixels of `where` (h, w) bool, each owned by its nearest bone of the photo's skeleton
    (photo_joints (24, 2)); ends: the bones competing, by their end joints (all when empty)."""
    children = np.asarray(ends or range(1, len(PARENTS)))
    joints = np.asarray(photo_joints, np.float64) @ np.array([1, 1j])
    rows, cols = np.nonzero(where)
    starts, stops = joints[np.asarray(PARENTS)[children]], joints[children]
    nearest = _segment_distances(cols + 1j * rows, starts, stops).argmin(axis=1)
    return BoneOwners(where.shape, rows, cols, children[nearest])


def carried(owners: BoneOwners, photo_joints: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """(h, w) bool: where the animator drew the photo's pixels of `owners`, each moved with its
    bone of the photo's skeleton (photo_joints (24, 2)) onto that bone as drawn (drawn (24, 2)):
    turned with it and stretched along it (within BONE_STRETCH); a bone shorter than MIN_BONE of
    the spine only moves.

    Shown there, they are the animator's body, not leftovers of the photo: a seated photo's legs
    kept in place while the driving shins fall below the frame, hands the torso carries. A hand
    resting on a still leg is the hand bone's, so it is carried with the arm, and left behind
    once the arm leaves, it counts."""
    parents = np.asarray(PARENTS)
    source, target = (np.asarray(j, np.float64) @ np.array([1, 1j]) for j in (photo_joints, drawn))
    start, start2 = source[parents], target[parents]  # per joint: the bone ending there
    bone, bone2 = source - start, target - start2
    neck, hips = _spine(source)
    rigid = np.minimum(abs(bone), abs(bone2)) < MIN_BONE * abs(neck - hips)
    turn = np.where(rigid, 1, bone / np.where(rigid, 1, abs(bone)))  # the photo bone's direction
    turn2 = np.where(rigid, 1, bone2 / np.where(rigid, 1, abs(bone2)))
    along = np.where(rigid, 1, np.clip(abs(bone2) / np.maximum(abs(bone), 1e-9), *BONE_STRETCH))
    mine = owners.bone
    local = (owners.cols + 1j * owners.rows - start[mine]) / turn[mine]  # along + i across
    moved = start2[mine] + (local.real * along[mine] + 1j * local.imag) * turn2[mine]
    x, y = np.round(moved.real).astype(int), np.round(moved.imag).astype(int)
    height, width = owners.shape
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    mask = np.zeros(owners.shape, np.uint8)
    mask[y[inside], x[inside]] = 1
    # a stretched bone spreads its pixels apart: close the gaps between them
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0


class DrawnBodies:
    """Where each frame's body is asked for (`__call__(index)` -> DrawnBody): the aligned driving
    parts from the align artifact, moved to where the animate artifact says its body was drawn
    (`joints2d`, beside the photo's skeleton `photo_joints2d`) when it records that, with the
    photo's person and forearms carried there (`carried`), else as the align stage put them.
    The photo's pixels are given to its bones once per clip."""

    def __init__(self, align, animate, photo: PhotoBody) -> None:
        self.align, self.animate = align, animate
        self.source = None
        if "joints2d" in animate:
            self.source = np.asarray(animate["photo_joints2d"], np.float64)
            # the forearm cores go with the arm bones only: fingers on a thigh leave with the arm
            self.forearms = bone_owners(photo.forearms, self.source, ARM_ENDS)
            self.person = bone_owners(photo.person & ~photo.forearms, self.source)

    def __call__(self, index: int) -> DrawnBody:
        parts = np.asarray(self.align["parts"][index])
        if self.source is None:
            return DrawnBody(parts)
        drawn = np.asarray(self.animate["joints2d"][index], np.float64)
        forearms = carried(self.forearms, self.source, drawn)
        person = carried(self.person, self.source, drawn) | forearms
        parts = framed_parts(parts, self.align["joints2d"][index], drawn)
        return DrawnBody(parts, placed=True, person=person, forearms=forearms)


def _moved(mask: np.ndarray, shift: np.ndarray) -> np.ndarray:
    size = mask.shape[::-1]
    return cv2.warpAffine(mask.astype(np.uint8), shift, size, flags=cv2.INTER_NEAREST) > 0


def coverage(dancer: np.ndarray, silhouette: np.ndarray) -> tuple[float, np.ndarray]:
    """(share of silhouette (h, w) bool covered by dancer (h, w) bool, uncovered pixels);
    NaN when the silhouette is empty (the driving body is out of frame)."""
    covered = _dilate(dancer, _px(COVER_TOLERANCE, dancer.shape))
    missing = silhouette & ~covered
    total = np.count_nonzero(silhouette)
    return (1.0 - np.count_nonzero(missing) / total if total else float("nan")), missing


def _shown_nearby(
    frame: np.ndarray, photo: np.ndarray, where: np.ndarray, reach: int
) -> np.ndarray:
    """(h, w) bool: pixels of `where` whose photo colour the frame shows within `reach` px
    (frame and photo float32 smoothed RGB); every 2nd px of the window is tried."""
    rows, cols = np.nonzero(where)
    target = photo[rows, cols]
    best = np.full(rows.shape, np.inf, np.float32)
    height, width = where.shape
    for dy in range(-reach, reach + 1, 2):
        for dx in range(-reach, reach + 1, 2):
            seen = frame[np.clip(rows + dy, 0, height - 1), np.clip(cols + dx, 0, width - 1)]
            best = np.minimum(best, ((seen - target) ** 2).sum(axis=1))
    out = np.zeros(where.shape, bool)
    out[rows[best < SAME_COLOUR**2], cols[best < SAME_COLOUR**2]] = True
    return out


def leftovers(
    smooth: np.ndarray,
    same: np.ndarray,
    photo: PhotoBody,
    occupied: np.ndarray,
    arms: np.ndarray,
    dancer: np.ndarray,
) -> tuple[float, np.ndarray]:
    """(share of the photo's person pixels still showing the photo, those pixels): smooth (h, w,
    3) float32, the frame as `_smooth` gives it, and same (h, w) bool, where it shows the photo's
    colour; looked for away from `occupied` (h, w) bool, the dancer and driving body grown, and
    on the photo's forearm cores away from `arms` (h, w) bool, the driving arms grown, where the
    `dancer` (h, w) bool stands: its body may carry them a few px, so a nearby match counts
    there, but only where the photo's forearm looks unlike the dancer's body around that spot (a
    sleeve of the shirt's own cloth shows as shirt once the arm leaves). Over the background the
    exact pixel must match: a patch fill of stones has a skin tone somewhere in any window."""
    sigma = _px(BODY_AROUND, smooth.shape)
    weight = cv2.GaussianBlur(dancer.astype(np.float32), (0, 0), sigma)
    around = cv2.GaussianBlur(smooth * dancer[..., None], (0, 0), sigma)
    around /= np.maximum(weight, 1e-3)[..., None]
    unlike = np.linalg.norm(photo.image - around, axis=-1) > DISTINCT
    cores = photo.forearms & ~arms & dancer & unlike
    carried = _shown_nearby(smooth, photo.image, cores, _px(CARRIED, smooth.shape))
    left = (photo.distinct & ~occupied & same) | carried
    # A lone pixel matching by chance is no limb: keep what survives a 3x3 opening.
    left = cv2.morphologyEx(left.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0
    return np.count_nonzero(left) / max(np.count_nonzero(photo.person), 1), left


def fragments(
    dancer: np.ndarray, body: np.ndarray, reach: int = 0, untouched: np.ndarray | None = None
) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, fragment mask, main body mask) of the dancer's (h, w) bool components: fragments
    are those besides the main body above FRAGMENT_SHARE of the frame that lie mostly (over
    ON_BODY) neither on `body` (h, w) bool, the driving silhouette where the animator drew it,
    grown by `reach` px, nor on `untouched` (h, w) bool, the photo's background shown as it was
    (a rock or a flag the segmenter takes for a person is none of the animator's making); the
    main body is the component overlapping `body` most, else the largest, with the pieces
    lying on `body` (a hand the segmenter split from a translucent forearm is where a hand is
    drawn, not a loose piece)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dancer.astype(np.uint8), 8)
    if count <= 1:
        return 0, np.zeros_like(dancer), dancer
    overlap = np.bincount(labels[body].ravel(), minlength=count)[1:]
    main = 1 + int(np.argmax(overlap if overlap.any() else stats[1:, cv2.CC_STAT_AREA]))
    area = stats[:, cv2.CC_STAT_AREA]
    near = _dilate(body, reach) if reach else body
    on_body = np.bincount(labels[near].ravel(), minlength=count) > ON_BODY * area
    on_body[[0, main]] = [False, True]
    seen = np.zeros(count, bool)
    if untouched is not None:
        seen = np.bincount(labels[untouched].ravel(), minlength=count) > ON_BODY * area
    big = (area >= FRAGMENT_SHARE * dancer.size) & ~on_body & ~seen
    big[0] = False
    return int(big.sum()), big[labels], on_body[labels]


def fill_quality(frame: np.ndarray, person: np.ndarray, occupied: np.ndarray) -> float:
    """Texture of the plate against its surroundings, lowered by a seam along its outline.

    frame (h, w, 3) uint8; person (h, w) bool, the photo's; occupied (h, w) bool is left out.
    The plate is the photo's person grown by FILL_GROW, the ring the RING beyond it. Texture is
    the mean |Laplacian|, floored at TEXTURE_FLOOR so a flat fill on a flat wall scores 1; the
    seam is the strongest ring of edges across the outline (gradient along the outward normal,
    averaged per px of distance) against the ring's median. NaN when too little plate is seen.
    """
    grow, ring_width = _px(FILL_GROW, person.shape), _px(RING, person.shape)
    outside = cv2.distanceTransform((~person).astype(np.uint8), cv2.DIST_L2, 5)
    plate = (outside <= grow) & ~occupied
    ring = (outside > grow) & (outside <= grow + ring_width) & ~occupied
    if min(np.count_nonzero(plate), np.count_nonzero(ring)) < MIN_REGION * person.size:
        return float("nan")
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    texture = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
    ratio = (texture[plate].mean() + TEXTURE_FLOOR) / (texture[ring].mean() + TEXTURE_FLOOR)
    # Seam: |gradient . outward normal| averaged on each 1-px contour around the person.
    soft = cv2.GaussianBlur(grey, (0, 0), 1.0)
    normal_x, normal_y = cv2.Sobel(outside, cv2.CV_32F, 1, 0), cv2.Sobel(outside, cv2.CV_32F, 0, 1)
    across = np.abs(
        cv2.Sobel(soft, cv2.CV_32F, 1, 0) * normal_x + cv2.Sobel(soft, cv2.CV_32F, 0, 1) * normal_y
    )
    across /= np.maximum(np.hypot(normal_x, normal_y), 1e-6)
    contour = np.round(outside).astype(np.int32)
    valid = (plate | ring) & (contour >= 1)
    sums = np.bincount(contour[valid], across[valid], minlength=grow + ring_width + 2)
    counts = np.bincount(contour[valid], minlength=grow + ring_width + 2)
    profile = sums / np.maximum(counts, 1)
    near = profile[1 : 2 * grow + 1][counts[1 : 2 * grow + 1] > 0]
    far = profile[2 * grow + 1 :][counts[2 * grow + 1 :] > 0]
    seam = (near.max() if near.size else 0.0) / (
        np.median(far) + 4 * TEXTURE_FLOOR if far.size else 1.0
    )
    return float(min(ratio, 1.0) * min(1.0, SEAM_TOLERANCE / max(seam, 1e-6)))


def background_change(
    previous: np.ndarray, current: np.ndarray, person_prev: np.ndarray, person_cur: np.ndarray
) -> float:
    """Mean |current - previous| in /255 over pixels 2 px clear of the person (mask > 0) in both
    (h, w, 3) uint8 frames."""
    person = (person_prev > 0) | (person_cur > 0)
    person = cv2.dilate(person.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if person.all():
        return 0.0
    diff = np.abs(current.astype(np.int16) - previous.astype(np.int16))
    return float(diff[~person].mean())


def check_frame(
    frame: np.ndarray, dancer_mask: np.ndarray, drawn: DrawnBody, photo: PhotoBody
) -> FrameCheck:
    """All per-frame measures: frame (h, w, 3) uint8 with its person mask (h, w) float, where
    its body is asked for (`DrawnBodies`: the aligned driving parts of the same size) and the
    photo. Parts not placed where the animator drew them are slid onto the dancer (`register`);
    placed ones are not (that could slide them onto someone else in the photo)."""
    dancer, parts = dancer_mask > PERSON, drawn.parts
    shown = photo.shown[parts]
    shift = np.float32([[1, 0, 0], [0, 1, 0]]) if drawn.placed else register(shown, dancer)
    body, silhouette = _moved(parts > 0, shift), _moved(shown, shift)
    if drawn.person is not None:
        body |= drawn.person
    cover, missing = coverage(dancer, silhouette)
    clear = _px(CLEAR, frame.shape)
    smooth = _smooth(frame)
    same = np.linalg.norm(smooth - photo.image, axis=-1) < SAME_COLOUR  # shows the photo
    count, fragment, main = fragments(dancer, body, clear, same & ~photo.person)
    # A fragment of the photo's person (a hand left behind) is a leftover too.
    occupied = _dilate(main | body, clear)
    arms = np.isin(parts, ARM_PARTS)
    if drawn.forearms is not None:
        arms |= drawn.forearms
    arms = _dilate(_moved(arms, shift), clear)
    left_share, left = leftovers(smooth, same, photo, occupied, arms, dancer)
    return FrameCheck(
        coverage=cover,
        leftovers=left_share,
        fragments=count,
        fill_quality=fill_quality(frame, photo.person, occupied),
        dancer=dancer,
        silhouette=silhouette,
        missing=missing,
        leftover=left,
        fragment=fragment,
    )


def read_photo(image: np.ndarray, first_parts: np.ndarray, segment) -> PhotoBody:
    """PhotoBody of the reference (h, w, 3) uint8, given the first aligned driving parts (h, w),
    which the align stage laid over the photo's person (of several, the one it animates), and a
    PersonSegmenter (tasks.evaluate.segment) in still-image mode."""
    person = segment.near(image, first_parts > 0)
    shown = shown_parts(person.mask > PERSON, person.landmarks, first_parts)
    return photo_body(image, person.mask, shown, person.landmarks)
