"""Pose images equal Wan2.2-Animate's own drawing, byte for byte, on golden keypoints.

openpose_golden.json holds the keypoints and the SHA-256 of the images the official
`draw_aapose_by_meta_new` drew from them (see its "source"); the drawing code itself is not here.
"""

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tasks.render.openpose import COLORS, LIMBS, draw_pose, stick_width

GOLDEN = json.loads((Path(__file__).parent / "openpose_golden.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda case: case["name"])
def test_pose_image_matches_official_drawing(case):
    if not GOLDEN["source"].endswith(cv2.__version__):
        pytest.skip(f"golden images were drawn with another OpenCV ({GOLDEN['source']})")
    hands = case["hands"] and tuple(np.array(hand) for hand in case["hands"])
    image = draw_pose(case["height"], case["width"], np.array(case["body"]), hands)
    assert image.shape == (case["height"], case["width"], 3) and image.dtype == np.uint8
    assert hashlib.sha256(image.tobytes()).hexdigest() == case["sha256"]


def test_low_scores_and_colours():
    body = np.array(GOLDEN["cases"][0]["body"])
    full = draw_pose(512, 512, body)
    body[4, 2] = 0.2  # right wrist unseen: its bone and dot vanish, the rest stays
    part = draw_pose(512, 512, body)
    assert (part != full).any() and (part <= full).all()
    (x, y) = body[3, :2].astype(int)
    assert tuple(full[y, x]) == COLORS[3]  # the right elbow's dot, full colour
    assert len(LIMBS) == 19 and stick_width(512, 512) == 1 and stick_width(1280, 720) == 2
