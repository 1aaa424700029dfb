"""The 20 OpenPose-style keypoints of tasks/render/openpose.py from the posed skeleton.

Body points are SMPL joints (neck: midway between the shoulders, as the COCO-derived OpenPose
neck is; toes: SMPL's foot joints at the ball of the foot). SMPL has no joints for the nose, eyes
and ears, so they sit at fixed offsets in the head joint's frame, measured on the built-in body's
head (about the SMPL mean face): exact for the head's rotation, approximate for its shape.
"""

from __future__ import annotations

import numpy as np

from tasks.render.camera import Camera, project

# Keypoint -> SMPL joint(s) averaged (order of tasks.render.openpose.KEYPOINTS, head points apart).
FROM_SMPL = {
    1: (16, 17), 2: (17,), 3: (19,), 4: (21,), 5: (16,), 6: (18,), 7: (20,), 8: (2,), 9: (5,),
    10: (8,), 11: (1,), 12: (4,), 13: (7,), 18: (10,), 19: (11,),
}  # fmt: skip
HEAD_JOINT = 15
# Offsets from the head joint in SMPL's rest frame (metres; y up, z forward, +x the body's left).
FACE_OFFSETS = {
    0: (0.0, 0.045, 0.105),  # nose
    14: (-0.033, 0.075, 0.09),  # right eye
    15: (0.033, 0.075, 0.09),  # left eye
    16: (-0.078, 0.05, 0.0),  # right ear
    17: (0.078, 0.05, 0.0),  # left ear
}
# A face point is seen while its outward direction (head frame) points less than arccos(cosine)
# away from the camera: the nose until the face has turned ~105 deg away (a profile shows it), an
# eye while it faces the camera at all (the far eye hides in profile), an ear until ~110 deg.
FACE_NORMALS = {0: (0.0, 0.0, 1.0), 14: (-0.5, 0.0, 0.87), 15: (0.5, 0.0, 0.87),
                16: (-1.0, 0.0, 0.0), 17: (1.0, 0.0, 0.0)}  # fmt: skip
SEEN_COSINE = {0: -0.25, 14: 0.0, 15: 0.0, 16: -0.35, 17: -0.35}


def pose_keypoints(
    rotations: np.ndarray, positions: np.ndarray, camera: Camera, frames: slice
) -> np.ndarray:
    """Keypoints (T, 20, 3): x, y pixels and a score (1 seen, 0 hidden face point).

    rotations (T, 24, 3, 3) and positions (T, 24, 3): world joint transforms of `frames`
    (tasks.render.skinning.global_transforms), projected with `camera`.
    """
    points = np.zeros((len(positions), 20, 3))
    seen = np.ones((len(positions), 20), dtype=bool)
    for keypoint, joints in FROM_SMPL.items():
        points[:, keypoint] = positions[:, list(joints)].mean(axis=1)
    head_rot, head = rotations[:, HEAD_JOINT], positions[:, HEAD_JOINT]
    for keypoint, offset in FACE_OFFSETS.items():
        points[:, keypoint] = head + head_rot @ np.asarray(offset)
        to_camera = camera.positions[frames] - points[:, keypoint]
        to_camera /= np.linalg.norm(to_camera, axis=-1, keepdims=True)
        outward = head_rot @ np.asarray(FACE_NORMALS[keypoint])
        seen[:, keypoint] = (outward * to_camera).sum(-1) > SEEN_COSINE[keypoint]
    screen = project(points, camera, frames)
    seen &= screen[..., 2] > 0  # behind the camera
    return np.concatenate([screen[..., :2], seen[..., None]], axis=-1).astype(np.float32)
