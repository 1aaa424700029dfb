"""Motion metrics on joint positions: PFC, foot skating, jerk, AIST++ features, FID and diversity.

Joints are (T, 24, 3) SMPL joint positions in metres in our z-up world at `fps` frames per second.
Beat alignment lives in `tasks.body.beats.beat_alignment_score` (one copy for the project).

References: PFC from EDGE (Tseng et al. 2023, `calc_physical_score`); kinetic and geometric
("manual") features, FID_k / FID_g and diversity as used by Bailando (Li et al. 2022) on the AIST++
API feature definitions (kinetic: Onuma et al. 2008; geometric: Mueller et al. 2005).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

UP = 2  # z is up in our world
FOOT_JOINTS = (7, 10, 8, 11)  # left ankle, left toe, right ankle, right toe (EDGE's PFC order)
PFC_SCALE = 10_000.0  # EDGE reports PFC x 10^4
STILL_ACCEL = 1e-3  # m/s^2: a root whose peak acceleration is below this is not accelerating


def physical_foot_contact(joints: np.ndarray, fps: float) -> float:
    """EDGE's PFC for one clip (lower is better), already x 10^4.

    Root acceleration by finite differences with its upward part clamped at >= 0, divided by the
    clip maximum. A root at rest or at constant velocity scores 0: below STILL_ACCEL the peak is
    float rounding (EDGE divides 0 by 0, or blows rounding noise up to 1, there).
    Foot speed is the horizontal displacement per frame (metres/frame). Per frame the score is
    min(L ankle, L toe speed) * min(R ankle, R toe speed) * root_accel; PFC is its mean.
    """
    dt = 1.0 / fps
    root_v = np.diff(joints[:, 0], axis=0) / dt  # (T-1, 3)
    root_a = np.diff(root_v, axis=0) / dt  # (T-2, 3)
    root_a[:, UP] = np.maximum(root_a[:, UP], 0.0)
    accel = np.linalg.norm(root_a, axis=-1)
    peak = float(accel.max(initial=0.0))
    accel = accel / peak if peak > STILL_ACCEL else np.zeros_like(accel)
    flat = [d for d in range(3) if d != UP]
    feet = joints[:, FOOT_JOINTS][:, :, flat]  # (T, 4, 2)
    foot_v = np.linalg.norm(feet[2:] - feet[1:-1], axis=-1)  # (T-2, 4) metres/frame
    left = np.minimum(foot_v[:, 0], foot_v[:, 1])
    right = np.minimum(foot_v[:, 2], foot_v[:, 3])
    return float(np.mean(left * right * accel) * PFC_SCALE) if accel.size else 0.0


def foot_skating_ratio(
    joints: np.ndarray, fps: float, *, contact_height: float, skate_speed: float
) -> float:
    """Fraction of frames in which a foot joint touches the ground yet slides.

    A foot joint (ankles 7, 8; toes 10, 11) is in contact when it is within `contact_height`
    metres of its own lowest height in the clip (the ground it stands on); it slides when its
    horizontal speed exceeds `skate_speed` m/s (0.75 m/s = 2.5 cm/frame at 30 fps, the usual
    threshold). Returns skating frames / frames with any contact, 0 when no frame has contact.
    """
    feet = joints[:, FOOT_JOINTS]  # (T, 4, 3)
    height = feet[..., UP] - feet[..., UP].min(axis=0)
    flat = [d for d in range(3) if d != UP]
    speed = np.linalg.norm(np.diff(feet[..., flat], axis=0), axis=-1) * fps  # (T-1, 4) m/s
    contact = (height[1:] < contact_height) & (height[:-1] < contact_height)
    touching = contact.any(axis=1)
    skating = (contact & (speed > skate_speed)).any(axis=1)
    return float(skating.sum() / touching.sum()) if touching.any() else 0.0


def mean_jerk(joints: np.ndarray, fps: float) -> float:
    """Mean over frames and joints of |d^3 x / dt^3| in m/s^3 (smoothness: lower is smoother)."""
    if joints.shape[0] < 4:
        return 0.0
    jerk = np.diff(joints, n=3, axis=0) * fps**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


# -- AIST++ kinetic features (72-d) ------------------------------------------------------------
_KINETIC_WINDOW = 2  # frames either side, the AIST++ API's sliding window


def _window_mean(x: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Mean of x[c-half : c+half+1] (clipped to x's range) for each centre c; x is (N, ...)."""
    csum = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres + half + 1, 0, len(x))
    count = (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return (csum[hi] - csum[lo]) / count


def kinetic_features(joints: np.ndarray, fps: float) -> np.ndarray:
    """(72,) float32: per joint, mean horizontal and vertical kinetic energy and energy expenditure.

    For each frame i = 1..T-1 the velocity is the mean of the 5 displacements around i (2 either
    side, clipped at the ends) over the frame time; the acceleration likewise averages the second
    differences. Energies are mean squared speeds (m^2/s^2, unit mass); expenditure is the mean
    norm of the windowed acceleration (m/s^2). Layout: joint-major [h, v, e] x 24.
    """
    t = joints.shape[0]
    if t < 3:
        raise ValueError(f"kinetic features need at least 3 frames, got {t}")
    dt = 1.0 / fps
    centres = np.arange(t - 1)  # frame i -> displacement index i-1
    vel = _window_mean(np.diff(joints, axis=0), centres, _KINETIC_WINDOW) / dt  # (T-1, J, 3)
    acc = _window_mean(np.diff(joints, n=2, axis=0), centres, _KINETIC_WINDOW) / dt**2
    flat = [d for d in range(3) if d != UP]
    horizontal = (vel[..., flat] ** 2).sum(-1).mean(axis=0)
    vertical = (vel[..., UP] ** 2).mean(axis=0)
    expenditure = np.linalg.norm(acc, axis=-1).mean(axis=0)
    return np.stack([horizontal, vertical, expenditure], axis=1).reshape(-1).astype(np.float32)


# -- AIST++ geometric ("manual") features (32-d) -----------------------------------------------
# The AIST++ API evaluates these in a y-up frame with a fixed SMPL body's humerus length (hl),
# shoulder width (sw) and hip width (hw) as units, and velocities over 1/120 s frames as
# published (kept so thresholds mean what they meant there).
_GEOM_FRAME_TIME = 1.0 / 120.0
_HL = float(np.linalg.norm(np.subtract([0.19911349, 0.23680794, -0.01807022],
                                       [0.45444539, 0.22115892, -0.04101671])))  # fmt: skip
_SW = float(np.linalg.norm(np.subtract([0.19911349, 0.23680794, -0.01807022],
                                       [-0.19169234, 0.23692875, -0.01230551])))  # fmt: skip
_HW = float(np.linalg.norm(np.subtract([0.05640767, -0.32306919, 0.01091971],
                                       [-0.06248341, -0.33130246, 0.01504126])))  # fmt: skip
_J = {
    "root": 0, "lhip": 1, "rhip": 2, "belly": 3, "lknee": 4, "rknee": 5, "spine": 6, "lankle": 7,
    "rankle": 8, "chest": 9, "ltoes": 10, "rtoes": 11, "neck": 12, "linshoulder": 13,
    "rinshoulder": 14, "head": 15, "lshoulder": 16, "rshoulder": 17, "lelbow": 18, "relbow": 19,
    "lwrist": 20, "rwrist": 21, "lhand": 22, "rhand": 23,
}  # fmt: skip
# (kind, points, threshold): move/nmove/plane/nplane take 3-4 points, angle 4 points and a
# degree range, fast one point.
_GEOMETRIC = (
    ("nmove", ("neck", "rhip", "lhip", "rwrist"), 1.8 * _HL),
    ("nmove", ("neck", "lhip", "rhip", "lwrist"), 1.8 * _HL),
    ("nplane", ("chest", "neck", "neck", "rwrist"), 0.2 * _HL),
    ("nplane", ("chest", "neck", "neck", "lwrist"), 0.2 * _HL),
    ("move", ("belly", "chest", "rwrist"), 1.8 * _HL),
    ("move", ("belly", "chest", "lwrist"), 1.8 * _HL),
    ("angle", ("relbow", "rshoulder", "relbow", "rwrist"), (0, 110)),
    ("angle", ("lelbow", "lshoulder", "lelbow", "lwrist"), (0, 110)),
    ("nplane", ("lshoulder", "rshoulder", "lwrist", "rwrist"), 2.5 * _SW),
    ("move", ("lwrist", "rwrist", "rwrist"), 1.4 * _HL),
    ("move", ("rwrist", "root", "lwrist"), 1.4 * _HL),
    ("move", ("lwrist", "root", "rwrist"), 1.4 * _HL),
    ("fast", ("rwrist",), 2.5 * _HL),
    ("fast", ("lwrist",), 2.5 * _HL),
    ("plane", ("root", "lhip", "ltoes", "rankle"), 0.38 * _HL),
    ("plane", ("root", "rhip", "rtoes", "lankle"), 0.38 * _HL),
    ("nplane", ("zero", "y_unit", "y_min", "rankle"), 1.2 * _HL),
    ("nplane", ("zero", "y_unit", "y_min", "lankle"), 1.2 * _HL),
    ("nplane", ("lhip", "rhip", "lankle", "rankle"), 2.1 * _HW),
    ("angle", ("rknee", "rhip", "rknee", "rankle"), (0, 110)),
    ("angle", ("lknee", "lhip", "lknee", "lankle"), (0, 110)),
    ("fast", ("rankle",), 2.5 * _HL),
    ("fast", ("lankle",), 2.5 * _HL),
    ("angle", ("neck", "root", "rshoulder", "relbow"), (25, 180)),
    ("angle", ("neck", "root", "lshoulder", "lelbow"), (25, 180)),
    ("angle", ("neck", "root", "rhip", "rknee"), (50, 180)),
    ("angle", ("neck", "root", "lhip", "lknee"), (50, 180)),
    ("plane", ("rankle", "neck", "lankle", "root"), 0.5 * _HL),
    ("angle", ("neck", "root", "zero", "y_unit"), (70, 110)),
    ("nplane", ("zero", "minus_y_unit", "y_min", "rwrist"), -1.2 * _HL),
    ("nplane", ("zero", "minus_y_unit", "y_min", "lwrist"), -1.2 * _HL),
    ("fast", ("root",), 2.3 * _HL),
)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (N, 3) and a mask of the non-degenerate ones."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = norm[..., 0] > 1e-8
    return v / np.where(norm > 1e-8, norm, 1.0), ok


def _geometric_feature(
    kind: str, pts: list[np.ndarray], prev: list[np.ndarray], th: float | tuple[float, float]
) -> np.ndarray:
    """One boolean relational feature per frame, (N,)."""
    if kind == "fast":
        return np.linalg.norm(pts[0] - prev[0], axis=-1) / _GEOM_FRAME_TIME > th
    if kind == "angle":
        (a, ok_a), (b, ok_b) = _unit(pts[1] - pts[0]), _unit(pts[3] - pts[2])
        angle = np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))
        return ok_a & ok_b & (th[0] < angle) & (angle < th[1])
    # plane: through points 0, 1, 2; nplane: normal 0->1 through point 2; distance of point 3
    spanned = np.cross(pts[2] - pts[0], pts[1] - pts[0]) if len(pts) > 2 else None
    if kind in ("plane", "nplane"):
        n, ok = _unit(spanned if kind == "plane" else pts[1] - pts[0])
        origin = pts[0] if kind == "plane" else pts[2]
        return ok & (((pts[3] - origin) * n).sum(-1) > th)
    # move / nmove: velocity of the last point relative to point 0 along a direction, in m/s
    vel = (pts[-1] - pts[0]) - (prev[-1] - prev[0])
    direction = pts[1] - pts[0] if kind == "move" else spanned
    d, ok = _unit(direction)
    return ok & ((vel * d).sum(-1) / _GEOM_FRAME_TIME > th)


def geometric_features(joints: np.ndarray) -> np.ndarray:
    """(32,) float32: fraction of frames 1..T-1 in which each Mueller-style relation holds.

    Joints are converted from our z-up world to the y-up frame the thresholds were set in.
    """
    if joints.shape[0] < 2:
        raise ValueError(f"geometric features need at least 2 frames, got {joints.shape[0]}")
    y_up = np.stack([joints[..., 0], joints[..., 2], -joints[..., 1]], axis=-1)  # Rx(-90 deg)
    cur, prev = y_up[1:], y_up[:-1]
    n = cur.shape[0]
    fixed = {
        "zero": np.zeros((n, 3)),
        "y_unit": np.tile([0.0, 1.0, 0.0], (n, 1)),
        "minus_y_unit": np.tile([0.0, -1.0, 0.0], (n, 1)),
        "y_min": np.stack([np.zeros(n), cur[..., 1].min(axis=1), np.zeros(n)], axis=-1),
    }

    def point(frames: np.ndarray, name: str) -> np.ndarray:
        return fixed[name] if name in fixed else frames[:, _J[name]]

    columns = [
        _geometric_feature(
            kind, [point(cur, p) for p in names], [point(prev, p) for p in names], th
        )
        for kind, names, th in _GEOMETRIC
    ]
    return np.stack(columns, axis=1).mean(axis=0).astype(np.float32)


# -- set-level metrics -------------------------------------------------------------------------
def root_relative(joints: np.ndarray) -> np.ndarray:
    """Joints minus the first frame's root position (Bailando's preprocessing before features)."""
    return joints - joints[:1, :1]


def normalize_by_reference(
    reference: np.ndarray, generated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both (N, D) feature sets with the reference set's mean and std (Bailando).

    A feature constant over the reference set is only centred: Bailando divides it by 1e-10,
    which turns any difference there into a FID near 1e20.
    """
    mean, std = reference.mean(axis=0), reference.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    return (reference - mean) / std, (generated - mean) / std


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D) and b (M, D).

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017); needs >= 2 rows.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(covmean).all():  # singular product: regularise as Bailando does
        eps = np.eye(s_a.shape[0]) * 1e-5
        covmean = linalg.sqrtm((s_a + eps) @ (s_b + eps))
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean.real))


def diversity(features: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of rows of (N, D) features (Bailando's Div)."""
    n = len(features)
    if n < 2:
        raise ValueError(f"diversity needs at least 2 clips, got {n}")
    diff = features[:, None, :] - features[None, :, :]
    dist = np.linalg.norm(diff, axis=-1)
    return float(dist[np.triu_indices(n, k=1)].mean())
