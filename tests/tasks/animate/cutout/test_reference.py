import cv2
import numpy as np

from tasks.animate.cutout import reference
from tasks.animate.cutout.background import clean_plate
from tasks.animate.cutout.reference import fit_skeleton, grabcut_mask, hidden_wrists
from tests.tasks.animate.cutout import figure
from tests.tasks.animate.cutout.driving import T_POSE_FACE, T_POSE_JOINTS


def _landmarks(points: dict[int, tuple[float, float]]) -> np.ndarray:
    """(33, 3) MediaPipe landmarks: the given ones visible, the rest invisible."""
    marks = np.zeros((33, 3))
    for index, (x, y) in points.items():
        marks[index] = (x, y, 0.99)
    return marks


def test_skeleton_moves_onto_the_photo_and_keeps_unseen_offsets():
    shift = np.array([5.0, 7.0])
    left_elbow = (150.0, 150.0)  # the photo's left arm hangs down
    marks = _landmarks(
        {11: tuple(T_POSE_JOINTS[16] + shift), 12: tuple(T_POSE_JOINTS[17] + shift), 13: left_elbow}
    )
    joints = fit_skeleton(marks, T_POSE_JOINTS, (340, 220))
    assert np.allclose(joints[[16, 17]], T_POSE_JOINTS[[16, 17]] + shift)  # shoulders
    assert np.allclose(joints[12], T_POSE_JOINTS[12] + shift, atol=1e-4)  # carried neck
    assert np.allclose(joints[18], left_elbow)
    offset = T_POSE_JOINTS[20] - T_POSE_JOINTS[18]
    assert np.allclose(joints[20], np.array(left_elbow) + offset, atol=1e-4)  # unseen wrist


def test_an_unsure_limb_landmark_counts_where_its_bone_lies_on_the_person():
    """An arm running out of the frame: MediaPipe places its elbow and wrist on it but is
    unsure of them; the mask shows the bone is there. A faint knee off the mask stays unseen."""
    shoulder = T_POSE_JOINTS[16]
    elbow, wrist = shoulder + (0.0, 50.0), shoulder + (-40.0, 80.0)  # hangs, then turns out
    marks = _landmarks(
        {11: tuple(shoulder), 12: tuple(T_POSE_JOINTS[17]), 23: tuple(T_POSE_JOINTS[1])}
    )
    marks[13] = (*elbow, 0.1)
    marks[15] = (*wrist, 0.1)
    marks[25] = (*(T_POSE_JOINTS[4] + (60.0, 0.0)), 0.1)  # a faint knee beside the body
    mask = np.zeros((340, 220), np.float32)
    cv2.line(mask, tuple(np.int32(shoulder)), tuple(np.int32(elbow)), 1.0, 9)
    cv2.line(mask, tuple(np.int32(elbow)), tuple(np.int32(wrist)), 1.0, 9)
    joints = fit_skeleton(marks, T_POSE_JOINTS, (340, 220), mask)
    assert np.allclose(joints[18], elbow) and np.allclose(joints[20], wrist)
    without = fit_skeleton(marks, T_POSE_JOINTS, (340, 220))
    assert not np.allclose(without[20], wrist)  # a T-pose guess
    assert np.allclose(joints[4], without[4])  # the knee's bone is not on the person
    marks[15] = (219.6, wrist[1], 0.1)  # at the last column, rounded past it
    fit_skeleton(marks, T_POSE_JOINTS, (340, 220), mask)


def test_a_wrist_inside_the_photo_that_the_pose_model_cannot_see_is_hidden():
    """The left arm is seen down to its elbow; its wrist lies in the photo, unseen, and the
    mask does not carry the forearm there (a helmet hides the hand): that wrist is hidden. A
    wrist below the photo's edge is cut, not hidden; a seen one is neither."""
    shoulder = T_POSE_JOINTS[16]
    elbow, wrist = shoulder + (0.0, 50.0), shoulder + (0.0, 100.0)
    marks = _landmarks({11: tuple(shoulder), 12: tuple(T_POSE_JOINTS[17]), 13: tuple(elbow)})
    marks[15] = (*wrist, 0.1)
    mask = np.zeros((340, 220), np.float32)
    cv2.line(mask, tuple(np.int32(shoulder)), tuple(np.int32(elbow)), 1.0, 9)
    box = (0, 220, 340, 0)
    assert np.flatnonzero(hidden_wrists(marks, mask, box)).tolist() == [20]
    assert not hidden_wrists(marks, mask, (0, 220, int(wrist[1]) - 5, 0)).any()  # cut below
    cv2.line(mask, tuple(np.int32(elbow)), tuple(np.int32(wrist)), 1.0, 9)  # the forearm shows
    assert not hidden_wrists(marks, mask, box).any()
    assert not hidden_wrists(None, mask, box).any()


def test_skeleton_without_landmarks_or_shoulders_is_the_driving_one():
    assert np.allclose(fit_skeleton(None, T_POSE_JOINTS, (340, 220)), T_POSE_JOINTS)
    only_elbow = _landmarks({13: (150.0, 150.0)})
    assert np.allclose(fit_skeleton(only_elbow, T_POSE_JOINTS, (340, 220)), T_POSE_JOINTS)


def test_grabcut_cuts_a_figure_from_a_plain_background():
    rng = np.random.default_rng(0)
    image = np.full((340, 220, 3), 40, dtype=np.uint8) + rng.integers(0, 10, (340, 220, 3)).astype(
        np.uint8
    )
    parts = np.zeros((340, 220), dtype=np.uint8)
    parts[110:200, 80:120] = 2  # driving torso
    parts[70:110, 88:112] = 23  # driving head
    image[65:205, 75:125] = (200, 120, 60)  # the person, a little wider than the driving body
    mask = grabcut_mask(image, T_POSE_FACE, parts)
    person = np.zeros(mask.shape, dtype=bool)
    person[65:205, 75:125] = True
    iou = ((mask > 0.5) & person).sum() / ((mask > 0.5) | person).sum()
    assert iou > 0.9


def test_matte_takes_the_chosen_person_only_and_the_plate_keeps_the_other(monkeypatch):
    """Two touching people; the pose model's segmentation covers both (as MediaPipe's may)."""
    shift = 184  # the second person's right hand touches the first one's left hand
    first, second = figure.figure_alpha(), figure.figure_alpha(shift)
    photo = figure.composite(figure.background(), first, figure.PERSON_RGB)
    photo = figure.composite(photo, second, figure.OTHER_RGB)
    segmentation = np.maximum(first, second)
    monkeypatch.setattr(
        reference, "mediapipe_pose", lambda image, window: (segmentation, figure.landmarks())
    )
    parts = np.zeros(photo.shape[:2], np.uint8)
    body = reference.read_reference(
        photo, figure.face(), parts, np.zeros((24, 2)), other_faces=[figure.face(shift)]
    )
    other = (second > 0.5) & (first < 0.05)  # the second person, where the hands don't meet
    assert not (body.mask[other] > 0.05).any()  # never partly cut
    assert (body.mask[(first > 0.5) & (second < 0.05)] > 0.5).all()
    plate = clean_plate(photo, body.mask, grow=8)
    untouched = second > 0.05
    untouched[:, :230] = False  # past the touching hands
    assert np.array_equal(plate[untouched], photo[untouched])
    assert not ((plate[..., 0] > 110) & (second < 0.05)).any()  # the first person is gone
