"""A source skeleton's motion before retargeting, in one shape for every mocap format.

Every reader (ASF/AMC, BVH) produces a `SourceMotion`: joints with rest offsets from their parent
and per-frame local rotations about axes that are world-aligned at rest, so at the rest pose every
global rotation is the identity and each offset is the bone's rest direction in the world (y up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SourceMotion:
    names: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root; every parent precedes its children
    offsets: np.ndarray  # (J, 3) rest offset from the parent joint, source units, y up
    local: np.ndarray  # (T, J, 3, 3) local rotations; identity at the rest pose
    root: np.ndarray  # (T, 3) root joint position, source units
    fps: float

    @property
    def num_frames(self) -> int:
        return self.local.shape[0]

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """Global rotations (T, J, 3, 3) and joint positions (T, J, 3) in the source world."""
        world = np.empty_like(self.local)
        pos = np.empty((self.num_frames, len(self.names), 3))
        for j, p in enumerate(self.parents):
            if p < 0:
                world[:, j], pos[:, j] = self.local[:, j], self.root
            else:
                world[:, j] = world[:, p] @ self.local[:, j]
                pos[:, j] = pos[:, p] + world[:, p] @ self.offsets[j]
        return world, pos

    def rest_positions(self) -> np.ndarray:
        """(J, 3) joint positions at the rest pose with the root at the origin."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos
