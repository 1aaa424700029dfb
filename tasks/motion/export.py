"""Export a motion artifact: EDGE's pickle, npz, or BVH that Blender imports.

BVH is written Y-up (the BVH and Blender-importer convention): the world is turned by -90 degrees
about X, which removes the +90 degree turn our z-up root rotation carries. Units are metres, the
skeleton is EDGE's fixed bone offsets, every joint rotates in Z, X, Y channel order.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import zarr
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.body.skeleton import JOINT_NAMES, NUM_JOINTS, OFFSETS, PARENTS, UPRIGHT

FORMATS = ("pkl", "npz", "bvh")
EULER_ORDER = "ZXY"  # BVH channel order Zrotation Xrotation Yrotation: R = Rz Rx Ry
END_SITE = 0.05  # metres: length of the end-site bone drawn at leaf joints


def edge_pickle_dict(poses: np.ndarray, trans: np.ndarray, joints: np.ndarray) -> dict:
    """EDGE's saved-result layout: smpl_poses (N,72), smpl_trans (N,3), full_pose (N,24,3)."""
    return {
        "smpl_poses": poses.reshape(-1, NUM_JOINTS * 3).astype(np.float32),
        "smpl_trans": trans.astype(np.float32),
        "full_pose": joints.astype(np.float32),
    }


def bvh_text(poses: np.ndarray, trans: np.ndarray, fps: float) -> str:
    """BVH document for axis-angle poses (N,24,3) and root translation (N,3) in our z-up world."""
    children: dict[int, list[int]] = {j: [] for j in range(NUM_JOINTS)}
    for j in range(1, NUM_JOINTS):
        children[PARENTS[j]].append(j)
    lines = ["HIERARCHY"]
    order: list[int] = []  # depth-first: the order of the channels in each MOTION row

    def write_joint(j: int, depth: int) -> None:
        order.append(j)
        pad = "  " * depth
        head = "ROOT" if j == 0 else "JOINT"
        lines.append(f"{pad}{head} {JOINT_NAMES[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:.8f}' for v in OFFSETS[j])}")
        channels = "Zrotation Xrotation Yrotation"
        if j == 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {channels}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {channels}")
        for child in children[j]:
            write_joint(child, depth + 1)
        if not children[j]:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET 0.00000000 {END_SITE:.8f} 0.00000000")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    write_joint(0, 0)
    # y-up world: turn the whole motion by -90 degrees about X
    to_y_up = UPRIGHT.inv()
    local = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(-1, NUM_JOINTS, 3, 3)
    local[:, 0] = to_y_up.as_matrix() @ local[:, 0]
    euler = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(EULER_ORDER, degrees=True)
    euler = euler.reshape(len(poses), NUM_JOINTS, 3)[:, order]
    frames = np.concatenate([to_y_up.apply(trans), euler.reshape(len(poses), -1)], axis=1)
    lines += ["MOTION", f"Frames: {len(poses)}", f"Frame Time: {1.0 / fps:.8f}"]
    buffer = io.StringIO()
    np.savetxt(buffer, frames, fmt="%.6f")
    return "\n".join(lines) + "\n" + buffer.getvalue()


def motion_file(group: zarr.Group, fmt: str) -> bytes:
    """The motion artifact `group` as the content of a pkl (EDGE), npz or bvh file."""
    if fmt not in FORMATS:
        raise InputError(f"export format {fmt!r} is not one of {list(FORMATS)}")
    poses, trans, joints = (np.asarray(group[name][:]) for name in ("poses", "trans", "joints"))
    fps = float(group.attrs["fps"])
    if fmt == "pkl":
        data = pickle.dumps(edge_pickle_dict(poses, trans, joints))
    elif fmt == "npz":
        buffer = io.BytesIO()
        extra = {"motion151": np.asarray(group["motion151"][:])} if "motion151" in group else {}
        np.savez(buffer, poses=poses, trans=trans, joints=joints, fps=np.float32(fps), **extra)
        data = buffer.getvalue()
    else:
        data = bvh_text(poses, trans, fps).encode()
    return data
