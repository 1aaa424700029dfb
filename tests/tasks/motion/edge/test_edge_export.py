"""Motion export: EDGE pickle, npz, and a BVH whose re-parsed FK matches within 1e-4 m."""

import io
import pickle

import numpy as np
import pytest
import zarr
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import JOINT_NAMES, UPRIGHT, forward_kinematics, to_motion151
from tasks.motion.export import motion_file

T = 40


def motion_group() -> zarr.Group:
    rng = np.random.default_rng(0)
    poses = Rotation.random(T * 24, random_state=3).as_rotvec().reshape(T, 24, 3) * 0.5
    poses[:, 0] = (Rotation.from_rotvec(poses[:, 0]) * UPRIGHT).as_rotvec()
    trans = rng.normal(size=(T, 3)) * 0.3
    joints = forward_kinematics(poses, trans)
    group = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    arrays = {"poses": poses, "trans": trans, "joints": joints,
              "motion151": to_motion151(poses, trans, joints)}  # fmt: skip
    for name, value in arrays.items():
        group.create_array(name, shape=value.shape, dtype="float32")[:] = value
    group.attrs.update({"fps": 30, "num_frames": T, "model": "edge"})
    return group


def parse_bvh(text: str) -> tuple[list[str], list, list[int], list[list[str]], np.ndarray]:
    """Minimal BVH reader: names, offsets, parents, channels per joint, motion (frames, values)."""
    names, offsets, parents, channels, stack = [], [], [], [], []
    tokens = iter(text.split("MOTION")[0].split())
    in_end_site = False
    for tok in tokens:
        if tok in ("ROOT", "JOINT"):
            names.append(next(tokens))
            parents.append(stack[-1] if stack else -1)
            stack.append(len(offsets))
            offsets.append(None)
            channels.append([])
        elif tok == "End":
            next(tokens)
            in_end_site = True
        elif tok == "OFFSET":
            values = np.array([float(next(tokens)) for _ in range(3)])
            if not in_end_site:
                offsets[stack[-1]] = values
        elif tok == "CHANNELS":
            channels[stack[-1]] = [next(tokens) for _ in range(int(next(tokens)))]
        elif tok == "}":
            if in_end_site:
                in_end_site = False
            else:
                stack.pop()
    motion_lines = text.split("MOTION")[1].strip().splitlines()[2:]
    motion = np.array([[float(v) for v in line.split()] for line in motion_lines])
    return names, offsets, parents, channels, motion


def bvh_positions(text: str) -> np.ndarray:
    """World joint positions (frames, joints, 3) by BVH semantics, in SMPL joint order."""
    names, offsets, parents, channels, motion = parse_bvh(text)
    positions = np.zeros((len(motion), len(offsets), 3))
    for f, row in enumerate(motion):
        col, world_rot = 0, []
        for j, joint_channels in enumerate(channels):
            pos, axes, angles = np.zeros(3), "", []
            for name in joint_channels:
                if name.endswith("position"):
                    pos["XYZ".index(name[0])] = row[col]
                else:
                    axes += name[0]
                    angles.append(row[col])
                col += 1
            local = Rotation.from_euler(axes.upper(), angles, degrees=True)
            if parents[j] < 0:
                world_rot.append(local)
                positions[f, j] = pos + offsets[j]
            else:
                p = parents[j]
                world_rot.append(world_rot[p] * local)
                positions[f, j] = positions[f, p] + world_rot[p].apply(offsets[j])
    return positions[:, [names.index(name) for name in JOINT_NAMES]]


def test_bvh_round_trip_matches_fk_within_a_tenth_of_a_millimetre(tmp_path):
    group = motion_group()
    text = motion_file(group, "bvh").decode()
    assert text.startswith("HIERARCHY") and "Frame Time: 0.03333333" in text
    positions = bvh_positions(text)  # y-up
    z_up = UPRIGHT.apply(positions.reshape(-1, 3)).reshape(positions.shape)
    assert positions.shape == (T, 24, 3)
    assert np.abs(z_up - group["joints"][:]).max() < 1e-4


def test_edge_pickle_and_npz(tmp_path):
    group = motion_group()
    data = pickle.loads(motion_file(group, "pkl"))  # our own bytes, made just above
    assert data["smpl_poses"].shape == (T, 72) and data["full_pose"].shape == (T, 24, 3)
    assert np.allclose(data["smpl_poses"].reshape(T, 24, 3), group["poses"][:])
    with np.load(io.BytesIO(motion_file(group, "npz"))) as npz:
        assert np.array_equal(npz["joints"], group["joints"][:]) and npz["motion151"].shape == (
            T, 151,
        )  # fmt: skip
    with pytest.raises(InputError, match="fbx"):
        motion_file(group, "fbx")
