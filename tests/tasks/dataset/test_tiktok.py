"""The TikTok layout's pieces on tiny arrays: face boxes from the head parts, and a clip folder
that appears whole or not at all."""

import json

import numpy as np
import pytest

from tasks.align.transform import CROWN_ABOVE_BOX
from tasks.dataset.tiktok import face_boxes, stale_folders, write_video_folder


def test_face_boxes_invert_the_align_rule_and_skip_headless_frames():
    parts = np.zeros((2, 64, 48), np.uint8)
    parts[0, 10:44, 12:36] = 23  # a head 34 px high, 24 px wide
    boxes = face_boxes(parts, head_to_face=1.7)
    assert list(boxes) == ["0001"]  # frame 2 shows no head
    top, right, bottom, left = boxes["0001"]
    face = 34 / 1.7
    assert (top, bottom) == (round(10 + CROWN_ABOVE_BOX * face), round(10 + 1.7 * face))
    assert (left + right) / 2 == 24 and right - left == pytest.approx(face, abs=1)


def chunks(count: int, fail_at: int | None = None):
    for i in range(count):
        if i == fail_at:
            raise OSError("disk full")
        yield np.full((1, 8, 6, 3), i, np.uint8)


def test_a_clip_folder_appears_whole_or_not_at_all(tmp_path):
    folder = tmp_path / "train" / "clip"
    folder.parent.mkdir(parents=True)
    reference = np.zeros((8, 6, 3), np.uint8)
    with pytest.raises(OSError, match="disk full"):
        write_video_folder(folder, chunks(3), chunks(3, fail_at=2), {}, reference)
    assert not folder.exists() and not stale_folders(tmp_path)
    write_video_folder(folder, chunks(3), chunks(3), {"0001": [1, 4, 5, 2]}, reference)
    names = sorted(p.name for p in (folder / "images").iterdir())
    assert names == ["0001.png", "0002.png", "0003.png"]
    assert names == sorted(p.name for p in (folder / "densepose").iterdir())
    assert json.loads((folder / "faces.json").read_text()) == {"0001": [1, 4, 5, 2]}
