"""Rasterizer: coverage, depth order, hard labels, all parts, left/right on screen."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tasks.render.body import builtin_body, pose_body
from tasks.render.camera import fit_camera, project
from tasks.render.raster import part_maps, rasterize, shaded_preview

SIZE = 128


def _screen(points):
    """(N, 3) pixel x, y, depth -> (1, N, 3) screen array with 1/depth."""
    pts = np.asarray(points, dtype=np.float32)
    return np.concatenate([pts[:, :2], 1.0 / pts[:, 2:]], axis=1)[None]


def test_two_triangles_tile_a_square_exactly():
    screen = _screen([[2, 2, 1], [10, 2, 1], [10, 10, 1], [2, 10, 1]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    ids = rasterize(screen, faces, 16, 16)[0]
    covered = ids >= 0
    assert covered.sum() == 64  # exactly the 8x8 pixel centres inside: no gap on the diagonal
    assert covered[2:10, 2:10].all()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_nearer_triangle_hides_farther_one(order):
    near = [[0, 0, 2.0], [16, 0, 2.0], [0, 16, 2.0]]
    far = [[0, 0, 5.0], [16, 0, 5.0], [0, 16, 5.0]]
    screen = _screen(near + far)
    faces = np.array([[0, 1, 2], [3, 4, 5]])[list(order)]
    ids = rasterize(screen, faces, 16, 16)[0]
    near_index = order.index(0)
    assert (ids[ids >= 0] == near_index).all()
    assert (ids[0, :10] == near_index).all()


def test_triangle_behind_camera_is_skipped():
    screen = _screen([[0, 0, 1.0], [16, 0, 1.0], [0, 16, 1.0]])
    screen[0, 0, 2] = -1.0
    assert (rasterize(screen, np.array([[0, 1, 2]]), 16, 16) == -1).all()


@pytest.fixture(scope="module")
def front_and_back():
    """T-pose seen from the front (upright, facing -Y) and from the back, plus the body."""
    body = builtin_body()
    upright = Rotation.from_rotvec([np.pi / 2, 0, 0])
    turned = Rotation.from_euler("z", 180, degrees=True) * upright
    poses = np.zeros((2, 24, 3))
    poses[0, 0], poses[1, 0] = upright.as_rotvec(), turned.as_rotvec()
    trans = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    verts, _ = pose_body(body, poses, trans)
    camera = fit_camera(
        verts.min(1), verts.max(1), trans, height=SIZE, width=SIZE, margin=0.05, follow=False
    )
    ids = rasterize(project(verts, camera, slice(0, 2)), body.faces, SIZE, SIZE)
    return body, verts, ids


def test_every_part_appears_front_or_back(front_and_back):
    body, _, ids = front_and_back
    parts = part_maps(ids, body.face_parts)
    assert set(np.unique(parts)) == set(range(25))
    assert {1, 7, 8, 11, 12}.isdisjoint(np.unique(parts[0]))  # back parts hidden from the front
    assert {2, 9, 10, 13, 14}.isdisjoint(np.unique(parts[1]))


def test_labels_are_hard_face_labels(front_and_back):
    body, _, ids = front_and_back
    parts = part_maps(ids, body.face_parts)
    assert parts.dtype == np.uint8 and parts.max() <= 24
    expected = np.where(ids >= 0, body.face_parts[np.maximum(ids, 0)], 0)
    np.testing.assert_array_equal(parts, expected)


def test_body_right_appears_on_image_left_when_facing_camera(front_and_back):
    body, _, ids = front_and_back
    parts = part_maps(ids, body.face_parts)
    cols = np.arange(SIZE)[None, :]

    def mean_col(frame, part):
        return np.broadcast_to(cols, parts[frame].shape)[parts[frame] == part].mean()

    assert mean_col(0, 23) < mean_col(0, 24)  # facing the camera: head right on image left
    assert mean_col(0, 3) < SIZE / 2 < mean_col(0, 4)  # right hand left, left hand right
    assert mean_col(1, 23) > mean_col(1, 24)  # seen from the back: mirrored


def test_shaded_preview(front_and_back):
    body, verts, ids = front_and_back
    rgb = shaded_preview(ids, verts, body.faces, body.face_parts)
    assert rgb.shape == (2, SIZE, SIZE, 3) and rgb.dtype == np.uint8
    assert (rgb[ids < 0] == 0).all() and rgb[ids >= 0].max() > 100
