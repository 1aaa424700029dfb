"""2D bones of the cutout: which reference pixels ride on which bone, and how each bone moves.

The 24 SMPL joints (tasks.body.skeleton.JOINT_NAMES) are grouped into 14 rigid-ish 2D bones,
each owning the DensePose parts drawn over it (tasks.render.body lists the part indices). Per
frame a bone maps its reference segment onto the driving segment (rotation, stretch along the
bone, the body's overall scale across it); the torso takes a least-squares affine of hips, neck
and shoulders; the head turns rigidly about the neck so the face keeps its shape (identity).
Near a joint the weights of the two bones blend linearly along the child bone (2D linear blend
skinning), so a bent elbow stretches instead of tearing.

The driving skeleton is first redrawn with the photo's proportions (`retarget`, as AnimatedDrawings
retargets a BVH onto the drawing's skeleton): each bone keeps the driving direction and its
foreshortening, at the photo's length. The photo's parts then stay where the photo has them in the
home pose (a knee-up photo keeps its legs in frame), and a limb turned towards the camera shortens
rather than stretching the cut-out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.filters import sobel
from skimage.segmentation import watershed

from tasks.body.skeleton import PARENTS

NUM_BONES = 14
TORSO, HEAD = 0, 1
HANDS = (4, 7)


@dataclass(frozen=True)
class Bone:
    """start/end: joint indices; parts: DensePose parts; radius: thickness / shoulder width."""

    name: str
    start: int
    end: int
    parts: tuple[int, ...]
    parent: int
    radius: float
    priority: int  # draw order where the driving part map does not decide


BONES = (
    Bone("torso", 0, 12, (1, 2), -1, 0.55, 5),
    Bone("head", 12, 15, (23, 24), TORSO, 0.45, 13),
    Bone("left_upper_arm", 16, 18, (15, 17), TORSO, 0.2, 10),
    Bone("left_lower_arm", 18, 20, (19, 21), 2, 0.16, 11),
    Bone("left_hand", 20, 22, (4,), 3, 0.14, 12),
    Bone("right_upper_arm", 17, 19, (16, 18), TORSO, 0.2, 10),
    Bone("right_lower_arm", 19, 21, (20, 22), 5, 0.16, 11),
    Bone("right_hand", 21, 23, (3,), 6, 0.14, 12),
    Bone("left_upper_leg", 1, 4, (8, 10), TORSO, 0.26, 3),
    Bone("left_lower_leg", 4, 7, (12, 14), 8, 0.2, 4),
    Bone("left_foot", 7, 10, (5,), 9, 0.14, 4),
    Bone("right_upper_leg", 2, 5, (7, 9), TORSO, 0.26, 3),
    Bone("right_lower_leg", 5, 8, (11, 13), 11, 0.2, 4),
    Bone("right_foot", 8, 11, (6,), 12, 0.14, 4),
)
LIMBS = tuple(range(1, NUM_BONES))  # every bone but the torso, head included
LIMB_STARTS = [BONES[i].start for i in LIMBS]
LIMB_ENDS = [BONES[i].end for i in LIMBS]
TORSO_JOINTS = (1, 2, 12, 16, 17)  # hips, neck, shoulders: the points the torso affine fits
NECK, HIPS, SHOULDERS = 12, (1, 2), (16, 17)
TORSO_LAYOUT = (0, 1, 2, 3, 6, 9, 13, 14, 16, 17)  # joints placed by the torso's shape
LIMB_ORDER = (15, 4, 5, 7, 8, 10, 11, 18, 19, 20, 21, 22, 23)  # each after its parent
FULL_LENGTH_PERCENTILE = 90  # a bone's in-plane length: this percentile of its 2D lengths
FOLDED_DEG = 65.0  # a photo leg this far from the dance's home direction keeps its pose
LEG_JOINTS = (4, 5, 7, 8, 10, 11)  # knees, ankles, feet: the bones a seated photo folds
SEATED_JOINTS = (0, 1, 2, *LEG_JOINTS)  # pelvis, hips and legs: what a seated photo keeps still
UPPER_JOINTS = (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)  # spine and up
SEATED_LEAN_DEG = 15.0  # a seated dancer's spine sways about the hips at most this far
RATIO_RANGE = (0.5, 2.0)  # photo / driving length ratios are clipped to this
MIN_FACING = 0.5  # shoulders/hips at least this share of their width across the spine (60 deg)
LEFT_ARM_JOINTS, RIGHT_ARM_JOINTS = (13, 16, 18, 20, 22), (14, 17, 19, 21, 23)
LEFT_LEG_JOINTS, RIGHT_LEG_JOINTS = (1, 4, 7, 10), (2, 5, 8, 11)
AMBIGUOUS = 2.0  # a point whose second-nearest bone is this close is labelled by colour
ARM_AMBIGUOUS = 3.0  # a point this near to both an arm and the body is split along edges
ARM_BONES = (2, 3, 4, 5, 6, 7)
BODY_BONES = (0, 8, 9, 10, 11, 12, 13)  # torso and legs
LEG_BONES = BODY_BONES[1:]
THIGHS = (8, 11)
GARMENT_MARGIN = 30.0  # Lab units: a thigh pixel this near the hips' colour wears their garment
ARM_OVER_LEG_REACH = 1.2  # leg points this near an arm (in its thickness) go with the arm
COLOUR_SIGMA = 0.03  # of the person's height: the neighbourhood whose colours decide
MIN_PATCH_FRACTION = 0.002  # of the person's pixels: smaller patches keep their nearest bone
COLOUR_MARGIN = 20.0  # Lab units by which another bone's colours must be nearer to win
MEDIAN_CHUNK = 2048  # points per batch of `_local_median` windows
CHROMA_MARGIN = 0.05  # rg chromaticity by which an arm's colours must be nearer to take a point
CHROMA_GAP = 0.012  # of the person's height: a gap this narrow left between an arm and what it
# took by chromaticity goes with it (the outline's mixed pixels)
TORSO_BELOW_HIPS = 2.0  # the torso's reach below the hip line, as a divisor of its radius
HEAD_SCALE_RANGE = (0.8, 1.25)  # the head follows the body's scale only this far
ARM_CHAINS = ((2, 3, 4), (5, 6, 7))  # left, right arm: upper arm, forearm, hand
SIDE_CUT = 0.1  # of the shoulder width: an arm with this many pixels on a side edge is cut
STRETCH_RANGE = (0.35, 2.5)  # a limb's length ratio driving / reference is clipped to this


def part_to_bone() -> np.ndarray:
    """(25,) int8 lookup: DensePose part index -> bone index, -1 for background."""
    table = np.full(25, -1, dtype=np.int8)
    for index, bone in enumerate(BONES):
        table[list(bone.parts)] = index
    return table


def children(bone: int) -> list[int]:
    """Indices of the bones hanging from `bone`."""
    return [index for index, b in enumerate(BONES) if b.parent == bone]


def shoulder_width(joints: np.ndarray) -> float:
    """Pixels between the shoulders of joints (24, 2), at least 1."""
    return max(float(np.linalg.norm(joints[16] - joints[17])), 1.0)


def _torso_layout(joints: np.ndarray) -> np.ndarray:
    """(..., k, 2) torso joints of joints (..., 24, 2) relative to the neck."""
    return joints[..., list(TORSO_LAYOUT), :] - joints[..., NECK : NECK + 1, :]


def _full_length(lengths: np.ndarray) -> np.ndarray:
    """In-plane length from 2D lengths (T, ...) over a clip: a high percentile (the dancer faces
    the camera most of the time)."""
    return np.percentile(lengths, FULL_LENGTH_PERCENTILE, axis=0)


@dataclass(frozen=True)
class Retarget:
    """The photo's proportions for a driving clip (see `retarget`).

    reference (24, 2): photo joints; ratios (24,): photo / driving in-plane length of the limb
    or head bone ending at each joint; home (k, 2): the clip's median torso layout; anchor (2,):
    photo neck - the clip's median neck; turns (24,): radians each leg bone is turned from the
    driving direction (0, or the photo's pose minus the clip's home where they differ by more
    than FOLDED_DEG: a folded leg keeps its fold and moves by the dance's change instead of
    being unfolded into streaks); seated: both thighs folded (a seated photo, crossed legs):
    pelvis and legs stay as photographed, the upper body dances swaying about the hips;
    held (24,) bool: joints that keep the photo's pose, moved with their parent (an arm the
    photo's side edge cuts: swung, its cut end would show as a stump; see `side_cut_arms`).
    """

    reference: np.ndarray
    ratios: np.ndarray
    home: np.ndarray
    anchor: np.ndarray
    turns: np.ndarray
    seated: bool
    held: np.ndarray = field(default_factory=lambda: np.zeros(24, dtype=bool))


def fit_retarget(reference: np.ndarray, clip: np.ndarray) -> Retarget:
    """Retarget from photo joints reference (24, 2) and driving joints clip (T, 24, 2)."""
    parents = list(np.maximum(PARENTS, 0))
    photo = np.linalg.norm(reference - reference[parents], axis=-1)
    driving = _full_length(np.linalg.norm(clip - clip[:, parents], axis=-1))
    home = _unit(np.median(_unit(clip - clip[:, parents]), axis=0))
    rest = _unit(reference - reference[parents])
    turns = np.arctan2(rest[:, 1], rest[:, 0]) - np.arctan2(home[:, 1], home[:, 0])
    turns = (turns + np.pi) % (2 * np.pi) - np.pi
    turns[np.abs(turns) < np.radians(FOLDED_DEG)] = 0.0
    turns[[j for j in range(len(PARENTS)) if j not in LEG_JOINTS]] = 0.0
    return Retarget(
        reference=np.asarray(reference, np.float64),
        ratios=np.clip(photo / np.maximum(driving, 1e-6), *RATIO_RANGE),
        home=np.median(_torso_layout(clip), axis=0),
        anchor=reference[NECK] - np.median(clip[:, NECK], axis=0),
        turns=turns,
        seated=bool(np.all(turns[[4, 5]] != 0.0)),  # both knees: both thighs folded
    )


def side_cut_arms(labels: np.ndarray, joints: np.ndarray, photo_box: tuple | None) -> np.ndarray:
    """(24,) bool: the joints of each arm whose pixels in labels (h, w) (bone per pixel, -1
    elsewhere) run into the left or right edge of photo_box (top, right, bottom, left; None: the
    whole image), SIDE_CUT of the shoulder width of joints (24, 2) or more. The photo holds
    such an arm out of the frame; what lies past the edge was never photographed."""
    height, width = labels.shape
    _, right, _, left = photo_box if photo_box is not None else (0, width, height, 0)
    edges = np.concatenate([labels[:, left : left + 2], labels[:, right - 2 : right]], axis=1)
    held = np.zeros(24, dtype=bool)
    for chain in ARM_CHAINS:
        if np.isin(edges, chain).sum() >= SIDE_CUT * shoulder_width(joints):
            held[[BONES[bone].end for bone in chain]] = True
    return held


def hidden_arms(hidden: np.ndarray) -> np.ndarray:
    """(24,) bool: the joints of each arm whose wrist the photo hides (hidden (24,) bool, from
    `reference.hidden_wrists`). Such an arm keeps the photo's pose: the hand holds what hides it
    (a helmet), and swung, the arm would carry a piece of that thing for a forearm."""
    held = np.zeros(24, dtype=bool)
    for chain in ARM_CHAINS:
        if hidden[BONES[chain[1]].end]:
            held[[BONES[bone].end for bone in chain]] = True
    return held


def rest_pose(clip: np.ndarray) -> np.ndarray:
    """(24, 2) a neutral pose of driving joints clip (T, 24, 2): the clip's median neck and torso
    layout, head as its median, limbs hanging straight down at their in-plane lengths. The photo's
    unseen joints are guessed from it (a cut-off arm hangs; it does not copy frame 0's wave)."""
    parents = list(np.maximum(PARENTS, 0))
    lengths = _full_length(np.linalg.norm(clip - clip[:, parents], axis=-1))
    pose = np.empty((24, 2))
    pose[NECK] = np.median(clip[:, NECK], axis=0)
    pose[list(TORSO_LAYOUT)] = pose[NECK] + np.median(_torso_layout(clip), axis=0)
    pose[15] = pose[NECK] + np.median(clip[:, 15] - clip[:, NECK], axis=0)
    for joint in LIMB_ORDER[1:]:
        pose[joint] = pose[PARENTS[joint]] + (0.0, lengths[joint])
    return pose


def retarget(driving: np.ndarray, fit: Retarget) -> np.ndarray:
    """Driving joints (T, 24, 2) redrawn with the photo's proportions.

    The skeleton hangs from the neck, the joint nearest the head the align stage placed, moved
    by the fit's anchor. The torso joints take the photo's layout under the linear map that
    takes the clip's home torso to the frame's (it leans, bows, narrows with a turn); each limb
    and the head keep their driving direction and foreshortening at the photo's length.
    """
    out = np.empty_like(driving)
    neck = driving[:, NECK] + fit.anchor
    photo_layout = _torso_layout(fit.reference)
    for t in range(len(driving)):
        linear, *_ = np.linalg.lstsq(fit.home, _torso_layout(driving[t]), rcond=None)
        out[t, list(TORSO_LAYOUT)] = neck[t] + photo_layout @ linear
    out[:, NECK] = neck
    for joint in LIMB_ORDER:
        parent = PARENTS[joint]
        if fit.held[joint]:
            out[:, joint] = out[:, parent] + fit.reference[joint] - fit.reference[parent]
            continue
        vector = (driving[:, joint] - driving[:, parent]) * fit.ratios[joint]
        cos, sin = np.cos(fit.turns[joint]), np.sin(fit.turns[joint])
        out[:, joint] = out[:, parent] + vector @ np.array([[cos, sin], [-sin, cos]])
    return _seated(out, fit) if fit.seated else out


def _seated(posed: np.ndarray, fit: Retarget) -> np.ndarray:
    """posed (T, 24, 2) with pelvis and legs held as the photo has them and the upper body
    hung from the photo's neck swayed about its hips by the dance's lean (clipped to
    SEATED_LEAN_DEG): crossed legs moved bone by bone tear into shards, and a torso that
    travels while the hips sit would stretch."""
    photo = fit.reference
    hips = photo[list(HIPS)].mean(axis=0)
    up = photo[NECK] - hips
    spine = posed[:, NECK] - posed[:, list(HIPS)].mean(axis=1)
    lean = np.arctan2(spine[:, 0], -spine[:, 1]) - np.arctan2(up[0], -up[1])  # from upright
    lean = (lean + np.pi) % (2 * np.pi) - np.pi
    lean = np.clip(lean, -np.radians(SEATED_LEAN_DEG), np.radians(SEATED_LEAN_DEG))
    cos, sin = np.cos(lean), np.sin(lean)
    neck = hips + np.stack([cos * up[0] - sin * up[1], sin * up[0] + cos * up[1]], axis=-1)
    out = posed.copy()
    out[:, list(UPPER_JOINTS)] += (neck - posed[:, NECK])[:, None]
    out[:, list(SEATED_JOINTS)] = photo[list(SEATED_JOINTS)]
    return out


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (N,) from points (N, 2) to the segment a-b."""
    ab = b - a
    t = np.clip((points - a) @ ab / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def hip_band(image: np.ndarray, labels: np.ndarray, joints: np.ndarray, reach: float) -> np.ndarray:
    """(h, w) bool: thigh pixels of labels (h, w) int8 within `reach` px of the line between
    the hip joints of joints (24, 2) that wear what the hips wear below that line (the median
    Lab colour of the torso's pixels there, within GARMENT_MARGIN): trousers or shorts, not the
    bare skin below them. image (h, w, 3) uint8 RGB."""
    band = np.zeros(labels.shape, dtype=bool)
    a, b = joints[HIPS[0]], joints[HIPS[1]]
    down = _unit((a + b) / 2 - joints[NECK])
    rows, cols = np.nonzero(labels == TORSO)
    points = np.stack([cols, rows], axis=1).astype(np.float64)
    hips = (_segment_distance(points, a, b) <= reach) & ((points - a) @ down > 0)
    if not hips.any():
        return band
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    garment = np.median(lab[rows[hips], cols[hips]], axis=0)
    rows, cols = np.nonzero(np.isin(labels, THIGHS))
    points = np.stack([cols, rows], axis=1).astype(np.float64)
    near = _segment_distance(points, a, b) <= reach
    near &= np.linalg.norm(lab[rows, cols] - garment, axis=1) <= GARMENT_MARGIN
    band[rows[near], cols[near]] = True
    return band


def label_points(
    points: np.ndarray, joints: np.ndarray, face_box: tuple, image: np.ndarray | None = None
) -> np.ndarray:
    """Bone index (N,) int8 for points (N, 2) x,y: the bone nearest in units of its thickness.

    joints (24, 2) is the reference skeleton; face_box (top, right, bottom, left) pins the face
    to the head bone. The head segment runs from the neck past the head joint to the crown.
    With the photo image (h, w, 3) uint8, a point about as near to several bones takes the one
    whose surely-labelled pixels around it look most like it (`_by_colour`), and where an arm
    lies against the body the split follows the arm's outline in the photo (`_by_edges`).
    """
    scores = _bone_scores(points, joints)
    labels = scores.argmin(axis=1).astype(np.int8)
    if image is not None:
        labels = _by_colour(image, points, scores, labels)
        labels = _by_edges(image, points, scores, labels)
        labels = _by_chroma(image, points, scores, labels)
    top, right, bottom, left = face_box
    in_face = (
        (points[:, 0] >= left) & (points[:, 0] <= right) & (points[:, 1] >= top)
        & (points[:, 1] <= bottom)
    )  # fmt: skip
    labels[in_face] = HEAD
    return labels


def _by_colour(
    image: np.ndarray, points: np.ndarray, scores: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """labels (N,) of points (N, 2) with ambiguous points (another bone's score within
    AMBIGUOUS x the best) moved to the candidate bone whose sure pixels nearby (Gaussian-weighted
    mean colour, sigma COLOUR_SIGMA x the point spread) are nearest in Lab: a forearm lying on
    the jeans keeps its skin, the jeans stay with the leg."""
    best = scores.min(axis=1, keepdims=True)
    candidates = scores <= AMBIGUOUS * best
    ambiguous = candidates.sum(axis=1) > 1
    if not ambiguous.any():
        return labels
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    cols, rows = points[:, 0].astype(int), points[:, 1].astype(int)
    sigma = COLOUR_SIGMA * max(float(np.ptp(points[:, 1])), 1.0)
    distance = np.full((len(points), NUM_BONES), np.inf, dtype=np.float32)
    for bone in np.unique(np.nonzero(candidates[ambiguous])[1]):
        sure = np.zeros(image.shape[:2], np.float32)
        keep = (labels == bone) & ~ambiguous
        sure[rows[keep], cols[keep]] = 1.0
        weight = cv2.GaussianBlur(sure, (0, 0), sigma)
        mean = (
            cv2.GaussianBlur(lab * sure[..., None], (0, 0), sigma)
            / np.maximum(weight, 1e-6)[..., None]
        )
        pick = ambiguous & candidates[:, bone] & (weight[rows, cols] > 1e-3)
        distance[pick, bone] = np.linalg.norm(
            lab[rows[pick], cols[pick]] - mean[rows[pick], cols[pick]], axis=1
        )
    own = distance[np.arange(len(points)), labels]
    # switch only where the colours clearly say so (two legs in the same jeans stay geometric)
    gain = np.where(np.isfinite(own), own - np.where(np.isfinite(own), distance.min(axis=1), 0), 0)
    switch = ambiguous & (gain > COLOUR_MARGIN)
    # isolated switches are noise (a highlight, a seam): only solid patches change bone
    plane = np.zeros(image.shape[:2], np.uint8)
    plane[rows[switch], cols[switch]] = 1
    count, patches, stats, _ = cv2.connectedComponentsWithStats(plane, connectivity=4)
    solid = stats[:, cv2.CC_STAT_AREA] >= MIN_PATCH_FRACTION * len(points)
    switch &= solid[patches[rows, cols]] & (patches[rows, cols] > 0)
    out = labels.copy()
    out[switch] = distance[switch].argmin(axis=1)
    return out


def _by_edges(
    image: np.ndarray, points: np.ndarray, scores: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """labels (N,) of points (N, 2) with those about as near to an arm as to the torso or a leg
    (within ARM_AMBIGUOUS x the best score; the head keeps its own) given to the bone whose sure
    points reach them first when the photo's colour gradient is flooded (watershed).

    An arm hanging against the body in the same skin or cloth cannot be told apart by colour,
    and a distance to the bones only guesses where it ends; its outline, a shading edge, says.
    """
    candidates, split = _arm_body_split(scores, labels)
    if not split.any():
        return labels
    cols, rows = points[:, 0].astype(int), points[:, 1].astype(int)
    markers = np.zeros(image.shape[:2], np.int32)
    markers[rows[~split], cols[~split]] = labels[~split].astype(np.int32) + 1
    mask = np.zeros(image.shape[:2], bool)
    mask[rows, cols] = True
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), 1.0), cv2.COLOR_RGB2LAB).astype(np.float32)
    gradient = sum(sobel(lab[..., channel]) for channel in range(3))
    flooded = watershed(gradient, markers, mask=mask)[rows, cols] - 1
    # only to a bone the point was near, never to the head (a collar is no face), and only
    # across the arm's outline: along the arm the bones decide (a watershed through the
    # shadow under a forearm gave it to the upper arm, which stretched it to the hip; down the
    # shaded side of multi1's forearm, it hung a strip of it from her upper arm)
    take = split & (flooded >= 0)
    take[take] = candidates[take, flooded[take]] & (flooded[take] != HEAD)
    on_arm = np.isin(np.arange(NUM_BONES), ARM_BONES)
    take[take] = on_arm[flooded[take]] != on_arm[labels[take]]
    nearest_arm = np.asarray(ARM_BONES)[scores[:, ARM_BONES].argmin(axis=1)]
    out = labels.copy()
    out[take] = np.where(on_arm[flooded[take]], nearest_arm[take], flooded[take])
    return out


def _arm_body_split(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candidates (N, 14) bool, split (N,) bool): the bones within ARM_AMBIGUOUS x each point's
    best score, and the points (not the head's) with both an arm and the body among them."""
    candidates = scores <= ARM_AMBIGUOUS * scores.min(axis=1, keepdims=True)
    split = (
        candidates[:, ARM_BONES].any(axis=1)
        & candidates[:, BODY_BONES].any(axis=1)
        & (labels != HEAD)
    )
    return candidates, split


def _by_chroma(
    image: np.ndarray, points: np.ndarray, scores: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """labels (N,) of points (N, 2) with the split points (`_arm_body_split`) the body kept
    given to an arm bone whose sure pixels around them (median within COLOUR_SIGMA) are
    CHROMA_MARGIN nearer in chromaticity (r, g of RGB / sum: shading does not move it) than the
    body bone's; and the gaps narrower than CHROMA_GAP between the arm and what it took.

    The watershed (`_by_edges`) stops at the strongest edge: a forearm's shaded side against
    dark jeans is darker than the jeans' edge is strong, so the split ran along the shading,
    inside the arm, and that strip of skin stayed on multi1's hip. Medians, not means: the patch
    on the astronaut's chest would pull a mean of her suit's colour purple.
    """
    candidates, split = _arm_body_split(scores, labels)
    kept = np.flatnonzero(split & np.isin(labels, BODY_BONES))
    if not kept.size:
        return labels
    blur = cv2.GaussianBlur(image, (0, 0), 1.0).astype(np.float32)
    chroma = blur[..., :2] / np.maximum(blur.sum(axis=-1, keepdims=True), 1.0)
    cols, rows = points[:, 0].astype(int), points[:, 1].astype(int)
    height = max(float(np.ptp(points[:, 1])), 1.0)
    owner = np.full(image.shape[:2], -1, np.int16)
    owner[rows[~split], cols[~split]] = labels[~split]
    radius = max(2, round(COLOUR_SIGMA * height))
    own, arm = np.full(kept.size, -np.inf), np.full(kept.size, np.inf)
    bone_of_arm = np.full(kept.size, -1, np.int8)
    for bone in np.unique(np.concatenate([labels[kept], ARM_BONES])):
        pick = labels[kept] == bone if bone in BODY_BONES else candidates[kept, bone]
        if not pick.any():
            continue
        at = kept[pick]
        near = _local_median(chroma, owner == bone, rows[at], cols[at], radius)
        distance = np.linalg.norm(chroma[rows[at], cols[at]] - near, axis=1)
        if bone in BODY_BONES:  # no sure body pixels around: no evidence against it
            own[pick] = np.where(np.isnan(distance), -np.inf, distance)
        else:
            distance[np.isnan(distance)] = np.inf
            nearer = distance < arm[pick]
            arm[np.flatnonzero(pick)[nearer]] = distance[nearer]
            bone_of_arm[np.flatnonzero(pick)[nearer]] = bone
    take = np.isfinite(arm) & np.isfinite(own) & (own - arm > CHROMA_MARGIN)
    out = labels.copy()
    out[kept[take]] = bone_of_arm[take]
    gap = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, round(CHROMA_GAP * height)),) * 2)
    for bone in np.unique(bone_of_arm[take]):
        took = kept[take & (bone_of_arm == bone)]
        arm_plane = _plane(image.shape[:2], rows[out == bone], cols[out == bone])
        beside = cv2.dilate(_plane(image.shape[:2], rows[took], cols[took]), gap)
        gaps = cv2.morphologyEx(arm_plane, cv2.MORPH_CLOSE, gap) & beside
        fill = gaps[rows[kept], cols[kept]] > 0
        fill &= np.isin(out[kept], BODY_BONES) & candidates[kept, bone]
        out[kept[fill]] = bone
    return out


def _plane(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    plane = np.zeros(shape, np.uint8)
    plane[rows, cols] = 1
    return plane


def _local_median(
    values: np.ndarray, sure: np.ndarray, rows: np.ndarray, cols: np.ndarray, radius: int
) -> np.ndarray:
    """(N, c) median of values (h, w, c) over the sure (h, w) bool pixels within radius px
    (every 2nd px of the window) of each point (rows, cols); NaN with fewer than 8. Points go
    MEDIAN_CHUNK at a time, so the windows stay small in memory at any photo size."""
    height, width = sure.shape
    offsets = np.arange(-radius, radius + 1, 2)
    dy, dx = (grid.ravel() for grid in np.meshgrid(offsets, offsets, indexing="ij"))
    out = np.full((len(rows), values.shape[-1]), np.nan)
    for start in range(0, len(rows), MEDIAN_CHUNK):
        part = slice(start, start + MEDIAN_CHUNK)
        ys = np.clip(rows[part, None] + dy, 0, height - 1)
        xs = np.clip(cols[part, None] + dx, 0, width - 1)
        window = values[ys, xs].astype(np.float32)  # (chunk, taps, c)
        window[~sure[ys, xs]] = np.nan
        enough = sure[ys, xs].sum(axis=1) >= 8
        out[start : start + len(enough)][enough] = np.nanmedian(window[enough], axis=1)
    return out


def arms_over_legs(points: np.ndarray, labels: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """labels (N,) of points (N, 2) with leg points within ARM_OVER_LEG_REACH thicknesses of an
    arm bone given to the nearest arm. A seated photo's hands rest on its knees, skin on skin,
    where no edge parts them; its legs stay in the plate, so a sliver of leg moving with the hand
    shows far less than a piece of hand left behind on the knee."""
    scores = _bone_scores(points, joints)[:, ARM_BONES]
    take = np.isin(labels, LEG_BONES) & (scores.min(axis=1) <= ARM_OVER_LEG_REACH)
    out = labels.copy()
    out[take] = np.asarray(ARM_BONES, dtype=np.int8)[scores[take].argmin(axis=1)]
    return out


def nearest_body_bone(points: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Bone index (N,) int8 of what carries each point (N, 2) of an arm once the body does, of
    joints (24, 2): above the hip line the torso, below it the torso or leg nearest in units of
    its thickness (a hand on the thigh goes with the thigh)."""
    hip_mid = joints[list(HIPS)].mean(axis=0)
    below = (points - hip_mid) @ _unit(hip_mid - joints[NECK]) > 0
    bones = np.full(len(points), TORSO, dtype=np.int8)
    scores = _bone_scores(points[below], joints)[:, BODY_BONES]
    bones[below] = np.asarray(BODY_BONES, dtype=np.int8)[scores.argmin(axis=1)]
    return bones


def _bone_scores(points: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 14) distance of points (N, 2) from each bone of joints (24, 2), in its thickness."""
    unit = shoulder_width(joints)
    scores = np.empty((len(points), NUM_BONES), dtype=np.float32)
    for index, bone in enumerate(BONES):
        a, b = joints[bone.start], joints[bone.end]
        if index == HEAD:
            b = b + 0.8 * (b - a)
        if index in HANDS:  # the joint sits mid-palm: the fingers reach as far again
            b = b + (b - a)
        if index == TORSO:
            a = joints[list(HIPS)].mean(axis=0)
        scores[:, index] = _segment_distance(points, a, b) / (bone.radius * unit)
    # below the hip line the thighs own what the torso's round end would reach (shorts, hems)
    hip_mid = joints[list(HIPS)].mean(axis=0)
    down = _unit(hip_mid - joints[NECK])
    below = (points - hip_mid) @ down > 0
    scores[below, TORSO] *= TORSO_BELOW_HIPS
    return scores


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)


def skin_weights(
    points: np.ndarray, labels: np.ndarray, joints: np.ndarray, *, overlap: float = 1.0
) -> np.ndarray:
    """Blend weights (N, 14) float32 rows summing to 1 for points (N, 2) bound to `labels` (N,).

    Around the joint J a child bone shares with its parent, along the child's direction u, the
    child's weight ramps as a = clip(1/2 + (x - J).u / (2 r)) (head: clip(1 + (x - J).u / r),
    so the whole face stays rigid), r = `overlap` x the child's thickness; the ramp fades out
    beyond 2 r from J. A point of either bone gets the same pair of weights at the seam.
    """
    unit = shoulder_width(joints)
    weights = np.zeros((len(points), NUM_BONES), dtype=np.float32)
    weights[np.arange(len(points)), labels] = 1.0
    for child, bone in enumerate(BONES):
        if bone.parent < 0:
            continue
        joint = joints[bone.start]
        radius = overlap * bone.radius * unit
        u = _unit(joints[bone.end] - joints[bone.start])
        rel = points - joint
        t = rel @ u
        if child == HEAD:
            a = np.clip(1.0 + t / radius, 0.0, 1.0)
        else:
            a = np.clip(0.5 + t / (2.0 * radius), 0.0, 1.0)
        fade = np.clip(2.0 - np.linalg.norm(rel, axis=1) / radius, 0.0, 1.0)
        on_child, on_parent = labels == child, labels == bone.parent
        move = np.where(on_child, fade * (1.0 - a), 0.0) + np.where(on_parent, -fade * a, 0.0)
        weights[:, bone.parent] += move
        weights[:, child] -= move
    return weights


def _affine_lstsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) affine minimising |A [src; 1] - dst|^2 for points (N, 2)."""
    design = np.concatenate([src, np.ones((len(src), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T


def _rotations(u: np.ndarray) -> np.ndarray:
    """(k, 2, 2) rotations whose first columns are the unit vectors u (k, 2)."""
    return np.stack([np.stack([u[:, 0], -u[:, 1]], 1), np.stack([u[:, 1], u[:, 0]], 1)], 1)


def bone_affines(
    indices: np.ndarray,
    reference: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    scale: float,
    widths: np.ndarray,
) -> np.ndarray:
    """(k, 2, 3) affines of limb or head bones `indices` (k,) taking their photo segments
    (joints reference (24, 2)) onto starts-ends (k, 2) each: rotation, stretch along the bone,
    `scale` x widths (k,) across it (the head turns rigidly, its scale clipped to
    HEAD_SCALE_RANGE)."""
    a_ref = reference[[BONES[i].start for i in indices]]
    rest, pose = reference[[BONES[i].end for i in indices]] - a_ref, ends - starts
    rest_len = np.maximum(np.linalg.norm(rest, axis=1), 1e-6)
    along = np.clip(np.linalg.norm(pose, axis=1) / rest_len, *STRETCH_RANGE)
    stretch = np.stack([along, scale * np.asarray(widths, np.float64)], axis=1)
    stretch[np.asarray(indices) == HEAD] = np.clip(scale, *HEAD_SCALE_RANGE)
    # rotate the reference bone frame onto the driving one, stretching along the bone
    u, v = _unit(pose), rest / rest_len[:, None]
    linear = np.einsum("kij,klj->kil", _rotations(u) * stretch[:, None, :], _rotations(v))
    offset = starts - np.einsum("kij,kj->ki", linear, a_ref)
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def bone_affine(
    index: int,
    reference: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    scale: float,
    width: float = 1.0,
) -> np.ndarray:
    """(2, 3) affine of one limb or head bone (see `bone_affines`)."""
    return bone_affines([index], reference, start[None], end[None], scale, [width])[0]


def torso_affine(reference: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares affine of the torso joints (hips, neck, shoulders) of reference
    (24, 2) onto joints (24, 2)."""
    return _affine_lstsq(reference[list(TORSO_JOINTS)], joints[list(TORSO_JOINTS)])


def affine_scale(affine: np.ndarray) -> float:
    """Geometric mean scale of a (2, 3) affine."""
    return float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))


def bone_transforms(
    reference: np.ndarray, driving: np.ndarray, widths: np.ndarray | None = None
) -> np.ndarray:
    """Per-frame affine (T, 14, 2, 3) taking reference pixels onto the driving pose.

    reference (24, 2) and driving (T, 24, 2) joints in pixels (x right, y down); widths (14,)
    scales each limb across its axis (from `width_ratios`; torso and head ignore it), default 1.
    """
    widths = np.ones(NUM_BONES) if widths is None else widths
    out = np.zeros((len(driving), NUM_BONES, 2, 3))
    for t, joints in enumerate(driving):
        out[t, TORSO] = torso_affine(reference, joints)
        scale = affine_scale(out[t, TORSO])
        out[t, 1:] = bone_affines(
            LIMBS, reference, joints[LIMB_STARTS], joints[LIMB_ENDS], scale, widths[1:]
        )
    return out.astype(np.float32)


def joints_drawn(reference: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """(24, 2) where bone transforms (14, 2, 3) draw the reference joints (24, 2): each joint
    moves with the bone it ends, the rest (pelvis, hips, spine, shoulders) with the torso."""
    owner = np.full(24, TORSO)
    owner[[bone.end for bone in BONES]] = np.arange(NUM_BONES)
    points = np.concatenate([reference, np.ones((24, 1))], axis=1)
    return np.einsum("jab,jb->ja", transforms[owner], points)


def clip_widths(clip: np.ndarray) -> np.ndarray:
    """(2,) in-plane shoulder and hip widths of driving joints (T, 24, 2), for `limit_turn`."""
    return np.array(
        [
            _full_length(np.linalg.norm(clip[:, a] - clip[:, b], axis=1))
            for a, b in (SHOULDERS, HIPS)
        ]
    )


def limit_turn(
    driving: np.ndarray, full_widths: np.ndarray, min_facing: float = MIN_FACING
) -> np.ndarray:
    """Driving joints (T, 24, 2) with the shoulders and hips kept at least `min_facing` of their
    in-plane widths full_widths (2,) across the spine, never swapped: a flat cut-out cannot show
    a side or back view, so a body turned further is drawn turned only this far (each side's
    limbs ride along).
    """
    out = np.array(driving, dtype=np.float64, copy=True)
    up = _unit(out[:, NECK] - out[:, list(HIPS)].mean(axis=1))
    across = np.stack([-up[:, 1], up[:, 0]], axis=1)  # towards the person's left, facing us
    sides = ((LEFT_ARM_JOINTS, RIGHT_ARM_JOINTS), (LEFT_LEG_JOINTS, RIGHT_LEG_JOINTS))
    for (left, right), (left_side, right_side), full in zip(
        (SHOULDERS, HIPS), sides, full_widths, strict=True
    ):
        facing = np.einsum("ti,ti->t", out[:, left] - out[:, right], across)
        short = np.maximum(min_facing * full - facing, 0.0)[:, None] * across / 2
        out[:, list(left_side)] += short[:, None]
        out[:, list(right_side)] -= short[:, None]
    return out


def _half_width(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of points (N, 2) from the line a-b, over those in the bone's middle 70%."""
    axis = b - a
    length = max(float(np.linalg.norm(axis)), 1e-6)
    u = axis / length
    t = (points - a) @ u / length
    middle = (t > 0.15) & (t < 0.85)
    if middle.sum() < 20:
        return float("nan")
    return float(np.abs((points[middle] - a) @ np.array([-u[1], u[0]])).mean())


def width_ratios(
    reference: np.ndarray,
    ref_points: np.ndarray,
    ref_labels: np.ndarray,
    driving: np.ndarray,
    drv_points: np.ndarray,
    drv_labels: np.ndarray,
    clip: tuple[float, float] = (0.6, 1.25),
) -> np.ndarray:
    """(14,) driving / photo thickness of each limb at frame 0, so limbs fill the driving body.

    The photo's pixels ref_points (N, 2) with bones ref_labels (N,) are first carried to the
    frame-0 pose (driving (24, 2)); thickness is the mean distance from the bone axis. Limbs
    unseen in either keep 1, and so do the head (identity) and the torso: its width already
    follows the shoulders and hips, and narrowing it would bare the inpainted background.
    """
    moved = np.empty_like(ref_points)
    frame0 = bone_transforms(reference, driving[None])[0]
    for bone in range(NUM_BONES):
        sel = ref_labels == bone
        moved[sel] = ref_points[sel] @ frame0[bone, :, :2].T + frame0[bone, :, 2]
    ratios = np.ones(NUM_BONES)
    for index, bone in enumerate(BONES):
        if index in (TORSO, HEAD):
            continue
        a, b = driving[bone.start], driving[bone.end]
        photo = _half_width(moved[ref_labels == index], a, b)
        body = _half_width(drv_points[drv_labels == index], a, b)
        if np.isfinite(photo) and np.isfinite(body) and photo > 0:
            ratios[index] = np.clip(body / photo, *clip)
    return ratios


def deform(points: np.ndarray, weights: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Linear blend skinning: points (N, 2), weights (N, 14), transforms (14, 2, 3) -> (N, 2).

    The blend is linear in the transforms, so each point gets its blended affine (N, 2, 3).
    """
    blended = (weights @ transforms.reshape(NUM_BONES, 6)).reshape(-1, 2, 3)
    return (np.einsum("nij,nj->ni", blended[:, :, :2], points) + blended[:, :, 2]).astype(
        np.float32
    )
