"""Quality measures of an animated video: identity and motion fidelity.

- identity: face_recognition (dlib ResNet) embedding distance between the reference face and the
  face found in a frame; the library calls 0.6 a match.
- motion fidelity: IoU of the animated person's silhouette with the driving part-map silhouette,
  counting only driving parts whose bone the photo shows (a waist-up photo has no legs to move).
Background stability is measured by the evaluate stage on any animator
(tasks.evaluate.body.background_change).
"""

from __future__ import annotations

import numpy as np

PRESENT_FRACTION = 0.02  # a bone with this share of the person's pixels counts as shown


def reference_encoding(reference: np.ndarray, face_box: tuple) -> np.ndarray:
    """(128,) face embedding of the reference (h, w, 3) uint8 inside face_box (t, r, b, l)."""
    import face_recognition

    box = tuple(int(round(v)) for v in face_box)
    return face_recognition.face_encodings(reference, known_face_locations=[box])[0]


def face_distance(frame: np.ndarray, reference: np.ndarray) -> float:
    """Smallest embedding distance from faces found in frame (h, w, 3) uint8; nan if none."""
    import face_recognition

    boxes = face_recognition.face_locations(frame, number_of_times_to_upsample=1)
    if not boxes:
        return float("nan")
    encodings = face_recognition.face_encodings(frame, known_face_locations=boxes)
    return float(face_recognition.face_distance(encodings, reference).min())


def shown_bones(labels: np.ndarray) -> np.ndarray:
    """(14,) bool: bones owning at least PRESENT_FRACTION of the person pixels of labels (h, w)."""
    counts = np.bincount(labels[labels >= 0].ravel(), minlength=14)
    return counts >= PRESENT_FRACTION * max(int(counts.sum()), 1)


def silhouette_iou(
    alpha: np.ndarray, driving_bones: np.ndarray, shown: np.ndarray | None = None
) -> float:
    """IoU of alpha (h, w) > 0.5 with the driving silhouette (bone map (h, w) int8, -1 empty).

    shown (14,) bool limits the driving silhouette to those bones; the animated silhouette
    is limited to the same pixels plus those no driving bone covers.
    """
    person = alpha > 0.5
    driving = driving_bones >= 0
    if shown is not None:
        hidden = driving & ~shown[np.maximum(driving_bones, 0)]
        driving &= ~hidden
        person &= ~hidden
    union = np.count_nonzero(person | driving)
    return float(np.count_nonzero(person & driving) / union) if union else 1.0
