"""The whole person the photo shows, as one soft matte: body, hair, hands and what they hold.

MediaPipe's segmentation alone misses hands, forearms and held objects, which then stay behind in
the background while the cut-out arm moves. So its mask is joined with capsules around the pose
landmarks' limbs (hands and forearms generously), and GrabCut, seeded with both, decides the
pixels in between. Only the part connected to the chosen face is kept; other people's faces and
the side of the photo nearer to another face than to this one are background, so a second person
is never partly cut.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from skimage.morphology import remove_small_holes

GRABCUT_SIDE = 512  # px: GrabCut runs at this long side (0.5-1 s): coarser misses edge pixels
GRABCUT_ROUNDS = 3
VISIBLE = 0.5  # landmark visibility above which a limb is drawn
SURE_SEGMENT = 0.8  # MediaPipe segmentation above which (eroded) a pixel is surely the person
MAYBE_SEGMENT = 0.3
NOT_PERSON = 0.05  # below this a capsule pixel starts as probable background
# MediaPipe Pose limbs (landmark a, landmark b, core width, generous width), widths in face widths
LIMBS = (
    (11, 13, 0.25, 1.0), (13, 15, 0.2, 0.9), (12, 14, 0.25, 1.0), (14, 16, 0.2, 0.9),
    (23, 25, 0.3, 1.3), (25, 27, 0.25, 1.0), (24, 26, 0.3, 1.3), (26, 28, 0.25, 1.0),
    (27, 31, 0.15, 0.8), (28, 32, 0.15, 0.8), (11, 12, 0.3, 1.0), (23, 24, 0.3, 1.0),
)  # fmt: skip
HANDS = ((15, 17, 19, 21), (16, 18, 20, 22))  # wrist, pinky, index, thumb per hand
HAND_REACH = 0.4  # face widths around the hand's landmarks: fingers and a held object
TORSO = (11, 12, 24, 23)
BAND = 0.5  # face widths of probable background around the hands and head


def disc(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(1, size),) * 2)


def limb_capsules(
    landmarks: np.ndarray, face_width: float, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(core, generous, hands) (h, w) uint8 masks drawn from landmarks (33, 3) [x, y, visibility]:
    thin limb centre lines that are surely the person, wide capsules that may be, and the discs
    around the hands (fingers, a held object)."""
    core, generous, hands = (np.zeros(shape, np.uint8) for _ in range(3))
    seen = landmarks[:, 2] > VISIBLE
    point = np.round(landmarks[:, :2]).astype(np.int32)
    for a, b, thin, wide in LIMBS:
        if seen[a] and seen[b]:
            cv2.line(core, point[a], point[b], 1, max(1, round(thin * face_width)))
            cv2.line(generous, point[a], point[b], 1, max(1, round(wide * face_width)))
    if seen[list(TORSO)].all():
        cv2.fillConvexPoly(core, cv2.convexHull(point[list(TORSO)]), 1)
        cv2.fillConvexPoly(generous, cv2.convexHull(point[list(TORSO)]), 1)
    for hand in HANDS:
        if seen[hand[0]]:
            ids = [i for i in hand if seen[i]]
            centre = np.round(landmarks[ids, :2].mean(axis=0)).astype(np.int32)
            cv2.fillConvexPoly(hands, cv2.convexHull(point[ids]), 1)
            cv2.line(core, point[hand[0]], centre, 1, max(1, round(0.15 * face_width)))
    hands = cv2.dilate(hands, disc(round(2 * HAND_REACH * face_width)))
    return core, generous | hands, hands


def others_region(shape: tuple[int, int], face_box: tuple, other_faces: list) -> np.ndarray:
    """(h, w) bool: the other people's side, the columns nearer to another face's centre than
    to the chosen face's, and their faces (boxes grown by a quarter)."""
    centre = (face_box[1] + face_box[3]) / 2
    cols = np.arange(shape[1])
    columns = np.zeros(shape[1], dtype=bool)
    for other in other_faces:
        columns |= np.abs(cols - (other[1] + other[3]) / 2) < np.abs(cols - centre)
    theirs = np.repeat(columns[None], shape[0], axis=0)
    for o_top, o_right, o_bottom, o_left in other_faces:
        pad_x, pad_y = (o_right - o_left) // 4, (o_bottom - o_top) // 4
        theirs[
            max(o_top - pad_y, 0) : o_bottom + pad_y, max(o_left - pad_x, 0) : o_right + pad_x
        ] = True
    return theirs


def grabcut_seeds(
    segmentation: np.ndarray | None,
    landmarks: np.ndarray | None,
    face_box: tuple,
    other_faces: list,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """(h, w) uint8 GrabCut labels. Sure person: the inner face box, the limbs' centre lines and
    confident segmentation; probably person: the segmentation, the wide capsules and `prior`
    (a rough silhouette); probably background: a band of BAND face widths around the hands and
    head (around everything without a segmentation); the rest, other faces and the photo's side
    nearer another face: sure background."""
    shape = (segmentation if segmentation is not None else prior).shape
    top, right, bottom, left = face_box
    face_width = max(right - left, 1)
    core, maybe, hands = (np.zeros(shape, np.uint8) for _ in range(3))
    if landmarks is not None:
        core, maybe, hands = limb_capsules(landmarks, face_width, shape)
    theirs = others_region(shape, face_box, other_faces)
    limbs = core.copy()  # this person's own limbs may reach over to the others' side
    if segmentation is not None:
        sure = cv2.erode((segmentation > SURE_SEGMENT).astype(np.uint8), disc(face_width // 8))
        sure[theirs] = 0
        core |= sure
        # a capsule over confident background (the gap of a hand on the hip) starts as such
        maybe &= (segmentation > NOT_PERSON).astype(np.uint8)
        maybe |= (segmentation > MAYBE_SEGMENT).astype(np.uint8)
    if prior is not None:
        maybe |= prior.astype(np.uint8)
    # the head: the face box grown over the hair
    head = np.zeros(shape, np.uint8)
    centre = (round((left + right) / 2), round(top + 0.35 * (bottom - top)))
    axes = (round(0.8 * face_width), round(1.0 * (bottom - top)))
    cv2.ellipse(head, centre, axes, 0, 0, 360, 1, -1)
    maybe |= head
    # where the segmentation speaks, only hair and held objects may lie past it
    reach = head | hands if segmentation is not None else maybe
    seeds = np.full(shape, cv2.GC_BGD, dtype=np.uint8)
    seeds[cv2.dilate(reach, disc(round(2 * BAND * face_width))) > 0] = cv2.GC_PR_BGD
    seeds[maybe > 0] = cv2.GC_PR_FGD
    seeds[core > 0] = cv2.GC_FGD
    inset_x, inset_y = (right - left) // 5, (bottom - top) // 5
    seeds[top + inset_y : bottom - inset_y, left + inset_x : right - inset_x] = cv2.GC_FGD
    seeds[theirs & (limbs == 0)] = cv2.GC_BGD
    return seeds


def grabcut_matte(
    image: np.ndarray, seeds: np.ndarray, face_box: tuple, keep_out: np.ndarray | None = None
) -> np.ndarray:
    """Soft matte (h, w) float32 in [0, 1]: GrabCut from seeds at GRABCUT_SIDE px, the part
    connected to the face box kept, holes smaller than a sixteenth of a face filled (the gap between
    a hand on the hip and the waist is background and stays), edges softened over a pixel,
    except into keep_out (h, w) bool (another person) beyond the sure seeds."""
    height, width = seeds.shape
    scale = min(1.0, GRABCUT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_seeds = cv2.resize(seeds, size, interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)[..., ::-1].copy()
    labels = small_seeds.copy()
    if (labels == cv2.GC_BGD).any() or (labels == cv2.GC_PR_BGD).any():
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(small, labels, None, bgd, fgd, GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)
    person = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    soft = cv2.resize(person.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    person = (soft > 0.5) | (seeds == cv2.GC_FGD)
    person &= seeds != cv2.GC_BGD
    top, right, bottom, left = face_box
    components, _ = ndimage.label(person)
    face_ids = np.unique(components[top:bottom, left:right])
    person = np.isin(components, face_ids[face_ids > 0])
    person = remove_small_holes(person, max_size=((right - left) // 4) ** 2)
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 0.8)
    if keep_out is not None:
        soft[keep_out & (seeds != cv2.GC_FGD)] = 0.0
    return soft
