"""Identity kept from the photo: face_recognition (dlib ResNet) embedding distances.

Boxes are face_recognition's (top, right, bottom, left) pixel tuples; images are (H, W, 3) uint8
RGB. A distance below 0.6 is dlib's "same person" threshold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Box = tuple[int, int, int, int]


def _face_recognition():
    """face_recognition, imported late: its import loads dlib's models (about a second)."""
    import face_recognition

    return face_recognition


def largest_face(image: np.ndarray) -> Box | None:
    """The largest face the HOG detector finds, or None.

    Faces of about 80 px and more are found at the image's own size (4-5x faster); only when none
    is found is the image searched again upsampled once, for smaller faces.
    """
    for upsample in (0, 1):
        boxes = _face_recognition().face_locations(image, number_of_times_to_upsample=upsample)
        if boxes:
            return max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
    return None


def face_embedding(image: np.ndarray, box: Box) -> np.ndarray:
    """(128,) float64 embedding of the face inside `box`."""
    return _face_recognition().face_encodings(image, [box])[0]


def embedding_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two (128,) embeddings (0 = same face)."""
    return float(np.linalg.norm(a - b))


def identity_distances(reference: np.ndarray, frames: Iterable[np.ndarray]) -> np.ndarray:
    """(n,) distance from the (128,) reference embedding to each frame's largest face.

    NaN marks a frame where no face was found; callers report the NaN fraction next to the mean.
    """
    out = []
    for frame in frames:
        box = largest_face(frame)
        out.append(
            np.nan if box is None else embedding_distance(reference, face_embedding(frame, box))
        )
    return np.asarray(out, dtype=np.float64)
