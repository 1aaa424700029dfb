"""DensePose part label (1..24) of every SMPL face: exact from DensePose's file, or from weights.

Exact route: DensePose's `UV_Processed.mat` (DensePose assets) lists 13,774 faces over 7,829
seam-split vertices: All_Faces (N, 3) 1-based into those vertices, All_vertices (1, M) 1-based
SMPL vertex of each, All_FaceIndices (N, 1) part 1..24, All_U_norm / All_V_norm (M, 1) chart
coordinates. Each SMPL face takes the part of the DensePose face with the same three SMPL
vertices; the two SMPL faces DensePose leaves out take the most common part of their vertices.

Derived route (no DensePose file): a face belongs to the joint with the largest summed skinning
weight over its vertices, and joints map to DensePose parts with the conventions of the built-in
body (tasks/render/body.py; rest frame y-up, facing +z, SMPL +x = the body's left):
pelvis, spine1-3 and collars -> torso, split front (2) / back (1) by the face centroid's z against
the spine's z at that height; neck and head -> head, split left (24) / right (23) by x against the
head joint; hips, knees, shoulders, elbows -> upper/lower leg/arm, split front / back by the side
of the plane through the bone axis whose normal is +z made perpendicular to the bone; ankles and
toes -> feet (5 left, 6 right); wrists and hands -> hands (4 left, 3 right).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.io

from tasks.base import InputError

UV_KEYS = ("All_FaceIndices", "All_Faces", "All_vertices", "All_U_norm", "All_V_norm")
MAX_UNMATCHED = 0.01  # fraction of SMPL faces the .mat may leave out before it is refused

TORSO_JOINTS = (0, 3, 6, 9, 13, 14)
HEAD_JOINTS = (12, 15)
SPINE = (0, 3, 6, 9, 12)
SINGLE_PARTS = {7: 5, 10: 5, 8: 6, 11: 6, 20: 4, 22: 4, 21: 3, 23: 3}  # feet and hands
LIMB_PARTS = {  # joint: (child joint, front part, back part)
    1: (4, 10, 8),
    2: (5, 9, 7),
    4: (7, 14, 12),
    5: (8, 13, 11),
    16: (18, 15, 17),
    17: (19, 16, 18),
    18: (20, 21, 19),
    19: (21, 22, 20),
}


def parts_from_weights(
    vertices: np.ndarray, faces: np.ndarray, weights: np.ndarray, joints: np.ndarray
) -> np.ndarray:
    """(F,) uint8 DensePose parts of a rest mesh (conventions in the module doc).

    vertices (V, 3), faces (F, 3), weights (V, 24), joints (24, 3), all in SMPL's y-up rest frame.
    """
    centroids = vertices[faces].mean(axis=1)
    owner = weights[faces].sum(axis=1).argmax(axis=1)
    parts = np.zeros(len(faces), dtype=np.uint8)

    spine = joints[list(SPINE)]
    order = np.argsort(spine[:, 1])
    spine_z = np.interp(centroids[:, 1], spine[order, 1], spine[order, 2])
    torso = np.isin(owner, TORSO_JOINTS)
    parts[torso] = np.where(centroids[torso, 2] > spine_z[torso], 2, 1)

    head = np.isin(owner, HEAD_JOINTS)
    parts[head] = np.where(centroids[head, 0] > joints[15, 0], 24, 23)

    for joint, part in SINGLE_PARTS.items():
        parts[owner == joint] = part

    for joint, (child, front, back) in LIMB_PARTS.items():
        selected = owner == joint
        axis = joints[child] - joints[joint]
        axis /= np.linalg.norm(axis)
        forward = np.array([0.0, 0.0, 1.0]) - axis * axis[2]
        forward /= np.linalg.norm(forward)
        side = (centroids[selected] - joints[joint]) @ forward
        parts[selected] = np.where(side > 0, front, back)
    return parts


def read_uv_processed(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The fields of DensePose's UV_Processed.mat, checked; errors name the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"DensePose UV file {path} does not exist (render.smpl_uv)")
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, TypeError, scipy.io.matlab.MatReadError) as err:
        raise InputError(f"{path}: not a readable MATLAB file ({err})") from None
    missing = [key for key in UV_KEYS if key not in mat]
    if missing:
        raise InputError(f"{path}: not DensePose's UV_Processed.mat, missing {', '.join(missing)}")
    fields = {key: np.asarray(mat[key]) for key in UV_KEYS}
    num_split = fields["All_vertices"].size
    face_parts = fields["All_FaceIndices"].ravel()
    dp_faces = fields["All_Faces"]
    if dp_faces.ndim != 2 or dp_faces.shape[1] != 3 or len(dp_faces) != len(face_parts):
        raise InputError(f"{path}: All_Faces must be (N, 3) with one All_FaceIndices entry each")
    if dp_faces.min() < 1 or dp_faces.max() > num_split:
        raise InputError(f"{path}: All_Faces must index All_vertices 1..{num_split}")
    if face_parts.min() < 1 or face_parts.max() > 24:
        raise InputError(f"{path}: All_FaceIndices must hold parts 1..24")
    return fields


def parts_from_uv(uv: dict[str, np.ndarray], faces: np.ndarray) -> np.ndarray:
    """(F,) uint8 parts of the SMPL faces (F, 3) from `read_uv_processed`'s fields."""
    smpl_ids = uv["All_vertices"].ravel().astype(np.int64) - 1
    dp_faces = smpl_ids[uv["All_Faces"].astype(np.int64) - 1]  # (N, 3) SMPL vertex ids
    dp_parts = uv["All_FaceIndices"].ravel().astype(np.uint8)
    num_verts = int(max(faces.max(), dp_faces.max())) + 1
    if dp_faces.min() < 0:
        raise InputError("UV_Processed.mat: All_vertices must hold 1-based SMPL vertex ids")

    # 1. Match faces by their sorted vertex triple.
    def keys(tri: np.ndarray) -> np.ndarray:
        tri = np.sort(tri.astype(np.int64), axis=1)
        return (tri[:, 0] * num_verts + tri[:, 1]) * num_verts + tri[:, 2]

    dp_keys = keys(dp_faces)
    order = np.argsort(dp_keys)
    wanted = keys(faces)
    index = np.clip(np.searchsorted(dp_keys[order], wanted), 0, len(order) - 1)
    matched = dp_keys[order][index] == wanted
    parts = np.where(matched, dp_parts[order][index], 0).astype(np.uint8)
    if (~matched).mean() > MAX_UNMATCHED:
        raise InputError(
            f"UV_Processed.mat matches only {matched.sum()} of {len(faces)} faces of this mesh: "
            "it belongs to another SMPL topology"
        )

    # 2. Faces DensePose leaves out: the most common part among the faces sharing a vertex.
    for f in np.flatnonzero(~matched):
        neighbours = matched & np.isin(faces, faces[f]).any(axis=1)
        votes = np.bincount(parts[neighbours], minlength=25)
        parts[f] = votes.argmax() if votes.any() else 1
    return parts
