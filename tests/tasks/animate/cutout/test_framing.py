import cv2
import numpy as np

from tasks.animate.cutout.bones import BONES, NUM_BONES, TORSO, shoulder_width
from tasks.animate.cutout.framing import Framer
from tests.tasks.animate.cutout.driving import T_POSE_JOINTS

HEIGHT, WIDTH = 236, 200  # the knees lie below the frame: a knee-up photo
HAND_END = 22


def _hanging(hand_end_y: float) -> np.ndarray:
    """T_POSE_JOINTS with both arms hanging by the sides, the hands ending at hand_end_y."""
    joints = T_POSE_JOINTS.copy()
    for shoulder, elbow, wrist, hand, side in ((16, 18, 20, 22, 1), (17, 19, 21, 23, -1)):
        x = joints[shoulder, 0]
        joints[elbow] = (x + 5 * side, 165)
        joints[wrist] = (x + 8 * side, 205)
        joints[hand] = (x + 9 * side, hand_end_y)
    return joints


def _labels(joints: np.ndarray) -> np.ndarray:
    """(h, w) int8: each bone drawn as a thick segment, the torso as the shoulder-hip quad."""
    labels = np.full((HEIGHT, WIDTH), -1, dtype=np.int8)
    unit = shoulder_width(joints)
    quad = joints[[16, 17, 2, 1]].round().astype(np.int32)
    cv2.fillConvexPoly(labels, quad, TORSO)
    for bone in range(1, NUM_BONES):
        spec = BONES[bone]
        start, end = joints[[spec.start, spec.end]].round().astype(int)
        thickness = max(2, round(2 * spec.radius * unit))
        cv2.line(labels, tuple(start), tuple(end), bone, thickness)
    return labels


def _hand_miss(hand_end_y: float) -> float:
    """Pixels between the photo's hand end, carried by the framed hand, and the driving one
    when the driving arm is raised sideways."""
    reference = _hanging(hand_end_y)
    labels = _labels(reference)
    framer = Framer(reference, labels, (labels >= 0).astype(np.float32), np.ones(NUM_BONES))
    driving = reference.copy()
    driving[[18, 20, 22]] = [[150, 150], [175, 170], [190, 180]]  # the left arm swings out
    hand = framer(driving)[4].astype(np.float64)
    carried = hand[:, :2] @ reference[HAND_END] + hand[:, 2]
    return float(np.linalg.norm(carried - driving[HAND_END]))


def test_fingertips_touching_the_frame_edge_do_not_pin_the_arm():
    """The hand's tip grazes the bottom edge (as a knee-up photo's hanging hands do): the arm is
    not cut off, so it follows the driving arm instead of hanging as in the photo."""
    labels = _labels(_hanging(226.0))
    assert (labels[-1] == 4).any()  # the fingertips do touch the edge
    assert _hand_miss(226.0) < 8


def test_an_arm_cut_by_the_frame_edge_still_hides_its_cut():
    labels = _labels(_hanging(250.0))
    assert (labels[-1] == 4).sum() >= 12  # a whole hand's width runs out of the frame
    assert _hand_miss(250.0) > 30
