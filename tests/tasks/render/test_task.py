"""Render stage end to end on an in-memory motion group."""

import numpy as np
import pytest
import zarr

from tasks.base import InputError, StageContext
from tasks.render.camera import Camera, project
from tasks.render.task import SPEC
from tests.stage_params import stage_params

TEST = {"resolution": 64, "aspect": "portrait", "preview": True}  # small, tall, shaded too


def _motion(frames: int = 11) -> zarr.Group:
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    poses = np.zeros((frames, 24, 3), dtype=np.float32)
    poses[:, 0, 0] = np.pi / 2
    poses[:, 18, 1] = np.linspace(0, 1.5, frames)
    trans = np.stack([np.linspace(0, 1, frames), np.zeros(frames), np.ones(frames)], 1)
    group.create_array("poses", data=poses)
    group.create_array("trans", data=trans.astype(np.float32))
    group.attrs.update({"fps": 30, "num_frames": frames})
    return group


def _run(tmp_path, **overrides) -> zarr.Group:
    params = stage_params("render", **TEST) | overrides
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    SPEC.compute(
        StageContext(params=params, upstream={"motion": _motion()}, out=out, workdir=tmp_path)
    )
    return out


def test_writes_contract_arrays(tmp_path):
    out = _run(tmp_path)
    parts, joints2d = out["parts"], out["joints2d"]
    assert parts.shape == (11, 64, 36) and parts.dtype == np.uint8 and parts.chunks == (8, 64, 36)
    assert joints2d.shape == (11, 24, 2) and joints2d.dtype == np.float32
    assert out["preview"].shape == (11, 64, 36, 3)
    assert out.attrs["fps"] == 30 and out.attrs["height"] == 64 and out.attrs["width"] == 36
    values = np.unique(parts[:])
    assert values.min() == 0 and values.max() <= 24 and len(values) > 10
    # joints2d agrees with the camera in attrs: the pelvis lands on the body's pixels.
    camera = out.attrs["camera"]
    k = np.array(camera["intrinsics"])
    cam = Camera(64, 36, k[0, 0], np.tile(camera["position"], (11, 1)))
    root = np.stack([np.linspace(0, 1, 11), np.zeros(11), np.ones(11)], 1)[:, None]
    np.testing.assert_allclose(
        joints2d[:, 0], project(root, cam, slice(0, 11))[:, 0, :2], atol=1e-3
    )
    x, y = np.round(joints2d[5, 0]).astype(int)
    assert parts[5, y, x] in (1, 2)


def test_follow_camera_writes_its_path(tmp_path):
    out = _run(tmp_path, camera="follow", preview=False, aspect="square")
    assert out["camera_position"].shape == (11, 3)
    assert "preview" not in out
    assert out["parts"].shape == (11, 64, 64)


def test_bad_params_are_refused():
    with pytest.raises(InputError, match="maximum"):
        SPEC.params["resolution"].check("render.resolution", 100000)
    with pytest.raises(InputError, match="one of"):
        SPEC.params["aspect"].check("render.aspect", "landscape")


def test_pose_keypoints_follow_the_joints(tmp_path):
    """keypoints (T, 20, 3): body points are the projected SMPL joints, the face points sit on
    the head, and the pose images are those keypoints drawn."""
    from tasks.render.openpose import draw_pose

    out = _run(tmp_path)
    keypoints, joints2d = out["keypoints"][:], out["joints2d"][:]
    assert keypoints.shape == (11, 20, 3) and out["pose"].shape == (11, 64, 36, 3)
    np.testing.assert_allclose(keypoints[:, 4, :2], joints2d[:, 21], atol=2e-3)  # right wrist
    np.testing.assert_allclose(keypoints[:, 13, :2], joints2d[:, 7], atol=2e-3)  # left ankle
    np.testing.assert_allclose(
        keypoints[:, 1, :2], joints2d[:, [16, 17]].mean(axis=1), atol=2e-3
    )  # neck
    nose, neck, head = keypoints[:, 0, :2], keypoints[:, 1, :2], joints2d[:, 15]
    assert (nose[:, 1] < neck[:, 1]).all() and (np.abs(nose[:, 0] - head[:, 0]) < 3).all()
    assert keypoints[:, 0, 2].all()  # the face looks at the camera: the nose is seen
    # The body's right is the image's left for a body facing the camera.
    assert (keypoints[:, 2, 0] < keypoints[:, 5, 0]).all()
    np.testing.assert_array_equal(out["pose"][3], draw_pose(64, 36, keypoints[3]))


@pytest.mark.parametrize(
    ("yaw_deg", "seen"),
    [
        (0, {0, 14, 15, 16, 17}),  # facing the camera: nose, both eyes, both ears
        (90, {0, 14, 16}),  # looking to its left (profile): nose, right eye and ear
        (180, {16, 17}),  # back to the camera: only the ears
    ],
)
def test_face_keypoints_hide_as_the_head_turns_away(yaw_deg, seen):
    from scipy.spatial.transform import Rotation

    from tasks.render.pose_keypoints import pose_keypoints
    from tasks.render.skinning import rest_joints

    # Rest (y up, facing +z) to the z-up world facing the camera at -Y, then a turn about z.
    world = Rotation.from_euler("z", yaw_deg, degrees=True) * Rotation.from_euler(
        "x", 90, degrees=True
    )
    rotations = np.broadcast_to(world.as_matrix(), (1, 24, 3, 3))
    positions = world.apply(rest_joints())[None] + [0.0, 0.0, 1.0]
    camera = Camera(64, 64, 80.0, np.array([[0.0, -5.0, 1.5]]))
    keypoints = pose_keypoints(rotations, positions, camera, slice(0, 1))
    face = {0, 14, 15, 16, 17}
    assert {k for k in face if keypoints[0, k, 2]} == seen
    assert keypoints[0, [k for k in range(20) if k not in face], 2].all()  # body always seen
