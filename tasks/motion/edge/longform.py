"""Songs of any length as 5 s windows at 2.5 s stride, and the merge back into one motion.

Window k covers frames [75 k, 75 k + 150). A song of T frames uses n = 1 + ceil((T - 150) / 75)
windows (at least one); features are padded at the end to 150 + 75 (n - 1) frames and the merged
motion is cropped back to T, so songs shorter than one window or not a multiple of 2.5 s work.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import NUM_JOINTS, matrix_from_6d, matrix_to_6d
from tasks.motion.edge.diffusion import OVERLAP

WINDOW = 2 * OVERLAP  # frames per window (5 s at 30 fps)
ROT = slice(7, 7 + 6 * NUM_JOINTS)  # 24 x 6D rotation channels of the 151-d vector


def num_windows(num_frames: int) -> int:
    """Windows needed to cover `num_frames` frames at 75-frame stride."""
    return 1 if num_frames <= WINDOW else 1 + math.ceil((num_frames - WINDOW) / OVERLAP)


def covered_frames(n: int) -> int:
    """Frames spanned by n stitched windows: 150 + 75 (n - 1)."""
    return WINDOW + OVERLAP * (n - 1)


def split_windows(sequence: np.ndarray, pad: str = "edge") -> np.ndarray:
    """(T, C) -> (n, 150, C) overlapping windows; the tail is padded (`edge` or `constant` 0)."""
    n = num_windows(sequence.shape[0])
    extra = covered_frames(n) - sequence.shape[0]
    padded = np.pad(sequence, ((0, extra), (0, 0)), mode=pad)
    return np.stack([padded[k * OVERLAP : k * OVERLAP + WINDOW] for k in range(n)])


def _slerp(left: Rotation, right: Rotation, weight: np.ndarray) -> Rotation:
    """Geodesic interpolation left -> right, weight broadcast per rotation (shortest arc)."""
    delta = (left.inv() * right).as_rotvec()
    return left * Rotation.from_rotvec(delta * weight[:, None])


def merge_windows(windows: np.ndarray) -> np.ndarray:
    """(n, 150, 151) unnormalised windows -> (150 + 75 (n - 1), 151) motion.

    Over each 75-frame overlap the contacts and root position cross-fade linearly and the joint
    rotations are slerped (weight 0 -> 1 from the earlier window to the later one); the rotation
    channels are rebuilt as exact 6D of the blended rotations.
    """
    n = windows.shape[0]
    if n == 1:
        return windows[0].copy()
    out = np.empty((covered_frames(n), windows.shape[2]), dtype=np.float64)
    out[:OVERLAP] = windows[0, :OVERLAP]
    out[-OVERLAP:] = windows[-1, OVERLAP:]
    weight = np.linspace(0.0, 1.0, OVERLAP)
    per_joint = np.repeat(weight, NUM_JOINTS)
    for k in range(n - 1):
        left, right = windows[k, OVERLAP:], windows[k + 1, :OVERLAP]
        span = slice(OVERLAP * (k + 1), OVERLAP * (k + 2))
        out[span, :7] = left[:, :7] * (1 - weight[:, None]) + right[:, :7] * weight[:, None]
        rot_l = Rotation.from_matrix(matrix_from_6d(left[:, ROT].reshape(-1, 6)))
        rot_r = Rotation.from_matrix(matrix_from_6d(right[:, ROT].reshape(-1, 6)))
        blended = _slerp(rot_l, rot_r, per_joint).as_matrix()
        out[span, ROT] = matrix_to_6d(blended).reshape(OVERLAP, -1)
    return out
