"""Camera: frame sizes, axes, and whole-body framing over a clip that walks across."""

import numpy as np
import pytest

from tasks.render.body import builtin_body, pose_body
from tasks.render.camera import Camera, fit_camera, frame_size, project
from tasks.render.raster import rasterize


def test_frame_sizes():
    assert frame_size(512, "square") == (512, 512)
    assert frame_size(512, "portrait") == (512, 288)
    assert frame_size(1920, "portrait") == (1920, 1080)
    with pytest.raises(ValueError, match="aspect"):
        frame_size(512, "landscape")


def test_axes_world_x_right_z_up():
    camera = Camera(height=100, width=100, focal=100.0, positions=np.array([[0.0, -5.0, 0.0]]))
    pts = np.array([[[0, 0, 0], [1, 0, 0], [0, 0, 1]]], dtype=float)
    screen = project(pts, camera, slice(0, 1))[0]
    np.testing.assert_allclose(screen[0], [50, 50, 0.2], atol=1e-5)
    assert screen[1, 0] > 50 and screen[2, 1] < 50


def _walk(frames: int = 40):
    """A body walking 4 m along +X while swinging its legs and arms."""
    phase = np.linspace(0, 4 * np.pi, frames)
    poses = np.zeros((frames, 24, 3))
    poses[:, 0, 0] = np.pi / 2
    poses[:, 1, 0] = 0.5 * np.sin(phase)
    poses[:, 2, 0] = -0.5 * np.sin(phase)
    poses[:, 16, 2] = -1.2  # arms down
    poses[:, 17, 2] = 1.2
    trans = np.stack([np.linspace(-2, 2, frames), np.linspace(0, 1, frames), np.ones(frames)], 1)
    return poses, trans


@pytest.mark.parametrize("aspect", ["square", "portrait"])
@pytest.mark.parametrize("follow", [False, True])
def test_whole_body_stays_in_frame(aspect, follow):
    body = builtin_body(12, 0.05)
    poses, trans = _walk()
    verts, _ = pose_body(body, poses, trans)
    height, width = frame_size(96, aspect)
    camera = fit_camera(
        verts.min(1), verts.max(1), trans, height=height, width=width, margin=0.1, follow=follow
    )
    screen = project(verts, camera, slice(0, len(verts)))
    assert (screen[..., 2] > 0).all()
    assert screen[..., 0].min() >= 0 and screen[..., 0].max() <= width
    assert screen[..., 1].min() >= 0 and screen[..., 1].max() <= height
    ids = rasterize(screen, body.faces, height, width)
    border = np.concatenate([ids[:, 0], ids[:, -1], ids[:, :, 0], ids[:, :, -1]], axis=1)
    assert (border == -1).all()
    # The framing is tight: over the clip the body sweeps most of the limiting image side.
    sweep_x = np.ptp(screen[..., 0]) / width
    sweep_y = np.ptp(screen[..., 1]) / height
    assert max(sweep_x, sweep_y) > 0.6
    if follow:
        assert np.ptp(camera.positions[:, 0]) > 1.0
    else:
        assert np.ptp(camera.positions, axis=0).max() == 0.0
