"""A weight-free, beat-synchronous choreographer that writes EDGE/SMPL-format dance motion.

Why: the EDGE checkpoint cannot be downloaded everywhere, yet the pipeline needs a dance that
follows the music. The recipe:

1. Beat grid: the detected beats, extended at both ends with the median period, give a continuous
   beat count b(t) (integer on beats).
2. Controls: per-beat loudness (mean onset strength) and per-section move choices (seeded, every
   `SECTION_BEATS` beats) become per-beat amplitudes; between beats they are interpolated with a
   smoothstep, whose zero slope on beats keeps every joint's speed at a minimum there.
3. Moves: each move is an amplitude times cos(2 pi b) or cos(pi b), extreme (slowest) on the
   beats, so the motion beats fall on the music beats (high Bailando beat alignment).
4. Feet: steps are scheduled per beat interval and land on a beat; otherwise each ankle stays
   fixed in the world, and two-bone leg IK bends hips and knees under the moving pelvis.

Angles are in the SMPL body frame (y up, x to the body's left, z forward); the world is z up, the
body faces -Y and the toes touch z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from tasks.body.skeleton import NUM_JOINTS, OFFSETS, UPRIGHT, align_vectors

SECTION_BEATS = 8
DEFAULT_BPM = 120.0  # beat grid when the music has fewer than two beats
_MIN_PERIOD_S, _MAX_PERIOD_S = 0.3, 1.2  # a beat period outside this range is halved / doubled
_HALF_STANCE = 0.11  # m, ankle distance from the body's midline
_PELVIS_BEHIND = 0.02  # m, pelvis behind the ankles (+Y), as in SMPL's rest pose
_KNEE_SOFTNESS = 0.025  # m, how far the pelvis sits below straight-leg height
_STEP_LIFT = 0.06  # m, ankle lift at mid-step
_IK_MARGIN = 0.005  # m, kept from full leg extension
_HOLD = 0.15  # fraction of a beat interval held still after and before each beat

# Body-frame euler angles are stored per joint as (yaw about y, pitch about x, roll about z) and
# applied in that intrinsic order; pitch > 0 leans forward, roll > 0 tips toward the body's right.
_YAW, _PITCH, _ROLL = 0, 1, 2
_SPINE = (3, 6, 9)
_L_SHOULDER, _R_SHOULDER, _L_ELBOW, _R_ELBOW = 16, 17, 18, 19
_ARM_REST_DOWN = np.deg2rad(70.0)  # from the T-pose, shoulders lowered by this much
_ELBOW_REST = np.deg2rad(25.0)
_ELBOW_MAX = np.deg2rad(140.0)

# Moves by family; a section draws one per family from the pool its loudness allows.
LEG_MOVES = ("bounce", "sway", "step_touch", "rock_step")
ARM_MOVES = ("pump", "wave", "swing", "clap")
TORSO_MOVES = ("still", "twist", "lean")
HEAD_MOVES = ("nod", "tilt")
_CALM_LEGS = ("bounce", "sway")
_STEPPING = {"step_touch", "rock_step"}

# Peak amplitude of every control channel at full energy (metres or radians).
_PEAK = {
    "bounce": 0.06,
    "sway": 0.05,
    "pump": np.deg2rad(45.0),
    "wave": np.deg2rad(60.0),
    "swing": np.deg2rad(30.0),
    "clap": np.deg2rad(35.0),
    "twist": np.deg2rad(12.0),
    "lean": np.deg2rad(8.0),
    "nod": np.deg2rad(12.0),
    "tilt": np.deg2rad(10.0),
}
_STEP_SIZE = {"step_touch": 0.18, "rock_step": 0.16}  # m at full energy


@dataclass(frozen=True)
class BeatGrid:
    """Beat positions in frames (n,), each beat's loudness in [0, 1] (n,), and b(t) (T,)."""

    frames: np.ndarray
    loudness: np.ndarray
    count: np.ndarray


def smoothstep(x: np.ndarray) -> np.ndarray:
    """3x^2 - 2x^3 on [0, 1]: zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def beat_grid(
    onset: np.ndarray, beats: np.ndarray, tempo: float, num_frames: int, fps: float
) -> BeatGrid:
    """Beat grid covering frames [0, num_frames] from beat times `beats` (s) and `onset` (T,)."""
    frames = np.sort(np.asarray(beats, dtype=np.float64)) * fps
    period = float(np.median(np.diff(frames))) / fps if frames.size >= 2 else 0.0
    if not _MIN_PERIOD_S <= period <= _MAX_PERIOD_S:
        period = 60.0 / tempo if tempo > 0 else 60.0 / DEFAULT_BPM
        while period < _MIN_PERIOD_S:
            period *= 2.0
        while period > _MAX_PERIOD_S:
            period /= 2.0
    step = period * fps
    if frames.size == 0:
        frames = np.array([0.0])
    before = frames[0] - step * np.arange(np.ceil(frames[0] / step) + 1, 0, -1)
    after = frames[-1] + step * np.arange(1, np.ceil((num_frames - frames[-1]) / step) + 2)
    frames = np.concatenate([before, frames, after])
    idx = np.arange(num_frames)
    count = np.interp(idx, frames, np.arange(frames.size, dtype=np.float64))
    owner = np.clip(np.searchsorted(frames, idx, side="right") - 1, 0, frames.size - 1)
    sums = np.bincount(owner, weights=onset[:num_frames], minlength=frames.size)
    loud = sums / np.maximum(np.bincount(owner, minlength=frames.size), 1)
    loud = loud / max(float(np.percentile(loud[loud > 0], 90)) if np.any(loud > 0) else 1.0, 1e-8)
    return BeatGrid(frames=frames, loudness=np.clip(loud, 0.0, 1.0), count=count)


def at_beats(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per-beat values (n, ...) -> per-frame (T, ...), smoothstep between beats (flat on beats)."""
    i = np.clip(np.floor(count).astype(int), 0, values.shape[0] - 1)
    j = np.minimum(i + 1, values.shape[0] - 1)
    w = smoothstep(count - np.floor(count)).reshape(-1, *([1] * (values.ndim - 1)))
    return values[i] * (1.0 - w) + values[j] * w


def beat_oscillators(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,) `on_beat` (1 around beats, dipping to 0 mid-interval) and `every_other` (+-1 on
    alternate beats). Both hold still near the beats and move mid-interval, so the smoothed joint
    speed (sigma 5 frames, which erases anything faster than a beat) has its minima on the beats.
    """
    frac = count - np.floor(count)
    on_beat = 1.0 - np.sin(np.pi * np.clip((frac - _HOLD) / (1.0 - 2.0 * _HOLD), 0.0, 1.0)) ** 2
    every_other = np.cos(np.pi * (np.floor(count) + smoothstep(frac)))
    return on_beat, every_other


def plan_sections(grid: BeatGrid, rng: np.random.Generator) -> list[dict[str, str]]:
    """One move per family for every `SECTION_BEATS` beats; quiet sections avoid stepping."""
    n_sections = int(np.ceil(grid.frames.size / SECTION_BEATS))
    plan = []
    for s in range(n_sections):
        loud = float(grid.loudness[s * SECTION_BEATS : (s + 1) * SECTION_BEATS].mean())
        legs = LEG_MOVES if loud > 0.6 else _CALM_LEGS
        plan.append(
            {
                "legs": str(rng.choice(legs)),
                "arms": str(rng.choice(ARM_MOVES)),
                "torso": str(rng.choice(TORSO_MOVES)),
                "head": str(rng.choice(HEAD_MOVES)),
            }
        )
    return plan


def control_amplitudes(
    grid: BeatGrid, plan: list[dict[str, str]], energy: float
) -> dict[str, np.ndarray]:
    """Per-beat amplitude (n,) of each `_PEAK` channel; zero where the section lacks the move."""
    n = grid.frames.size
    gain = energy * (0.45 + 0.55 * grid.loudness)
    amps = {name: np.zeros(n) for name in _PEAK}
    for beat in range(n):
        for move in plan[beat // SECTION_BEATS].values():
            if move in amps:
                amps[move][beat] = _PEAK[move] * gain[beat]
            if move in _STEPPING:
                amps["bounce"][beat] = 0.5 * _PEAK["bounce"] * gain[beat]
    return amps


def feet_trajectories(
    grid: BeatGrid, plan: list[dict[str, str]], energy: float, num_frames: int
) -> np.ndarray:
    """Ankle targets (T,2,3) in world metres, [left, right].

    Step-touch: out on one beat, the other foot closes on the next, alternating direction every
    two beats. Rock-step: one foot forward and back. A step moves during the middle of a beat
    interval (lifted) and lands on the beat, so feet are still on every beat.
    """
    n = grid.frames.size
    home = np.array([[_HALF_STANCE, 0.0], [-_HALF_STANCE, 0.0]])
    pos = np.empty((n, 2, 2))  # foot positions (x, y) on each beat
    pos[0] = home
    moving = np.zeros((n, 2), dtype=bool)  # foot moves during interval [beat, beat + 1]
    for beat in range(n - 1):
        section = beat // SECTION_BEATS
        move = plan[section]["legs"]
        loud = grid.loudness[section * SECTION_BEATS : (section + 1) * SECTION_BEATS].mean()
        size = _STEP_SIZE.get(move, 0.0) * min(energy, 1.5) * (0.6 + 0.4 * loud)
        nxt = pos[beat].copy()
        phase = beat % 4
        if move == "step_touch":  # L out, R closes (to the left); R out, L closes (back)
            nxt[(0, 1, 1, 0)[phase], 0] += (1.0, 1.0, -1.0, -1.0)[phase] * size
        elif move == "rock_step":  # one foot forward on the first beat of four, back on the next
            foot = (beat // 4) % 2
            nxt[foot, 1] = home[foot, 1] - (size if phase == 0 else 0.0)
        moving[beat] = np.any(np.abs(nxt - pos[beat]) > 1e-9, axis=1)
        pos[beat + 1] = nxt
    count = grid.count
    i = np.clip(np.floor(count).astype(int), 0, n - 2)
    frac = count - i
    slide = smoothstep((frac - 0.2) / 0.6)[:, None, None]  # horizontal travel mid-interval only
    xy = pos[i] * (1.0 - slide) + pos[i + 1] * slide
    lift = _STEP_LIFT * np.sin(np.pi * frac) ** 2
    ankle_height = -OFFSETS[[10, 11], 1]  # toes on the ground when the foot is flat
    z = ankle_height[None, :] + np.where(moving[i], lift[:, None], 0.0)
    return np.concatenate([xy, z[..., None]], axis=-1)[:num_frames]


def _euler_rotations(angles: np.ndarray) -> np.ndarray:
    """(T,24,3) (yaw, pitch, roll) body-frame angles -> (T,24,3,3) local rotation matrices."""
    flat = angles.reshape(-1, 3)
    rot = Rotation.from_euler("YXZ", flat).as_matrix()
    return rot.reshape(*angles.shape[:2], 3, 3)


def two_bone_ik(
    pelvis_rot: np.ndarray, hip: np.ndarray, ankle: np.ndarray, thigh: np.ndarray, shin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local hip and knee rotations (T,3,3) that put the ankle at `ankle` (T,3).

    `pelvis_rot` (T,3,3) is the pelvis' world rotation, `hip` (T,3) the hip joint's world position,
    `thigh`/`shin` the knee and ankle bone offsets (3,). The knee hinges about its x axis and only
    flexes (foot backward); the hip takes the minimal swing onto the hip-to-ankle direction.
    """
    u = np.einsum("tji,tj->ti", pelvis_rot, ankle - hip)  # target in the pelvis frame
    # |thigh + Rx(theta) shin|^2 = d^2  <=>  p cos(theta) + q sin(theta) = k
    p = thigh[1] * shin[1] + thigh[2] * shin[2]
    q = thigh[2] * shin[1] - thigh[1] * shin[2]
    radius, phi = np.hypot(p, q), np.arctan2(q, p)
    d = np.linalg.norm(u, axis=-1)
    k = (d**2 - thigh @ thigh - shin @ shin) / 2.0 - thigh[0] * shin[0]
    theta = phi + np.arccos(np.clip(k / radius, -1.0, np.cos(phi)))  # theta >= 0
    knee = Rotation.from_euler("x", theta[:, None]).as_matrix()
    reach = thigh + knee @ shin
    return align_vectors(reach, u), knee


def choreograph(
    onset: np.ndarray,
    beats: np.ndarray,
    tempo: float,
    num_frames: int,
    fps: float,
    seed: int,
    energy: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-angle poses (T,24,3) float32 and root translation (T,3) float32, T = `num_frames`.

    `onset` (T,) is onset strength in [0, 1], `beats` (n,) beat times in seconds, `tempo` in bpm
    (used when fewer than two beats were found), `energy` in [0, 2] scales every amplitude.
    """
    rng = np.random.default_rng(seed)
    # 1. beat grid and per-section move plan
    grid = beat_grid(onset, beats, tempo, num_frames, fps)
    plan = plan_sections(grid, rng)
    amps = {
        name: at_beats(a, grid.count) for name, a in control_amplitudes(grid, plan, energy).items()
    }
    side = float(rng.choice([-1.0, 1.0]))  # which side the alternating moves start on
    on_beat, every_other = beat_oscillators(grid.count)
    every_other = side * every_other
    # 2. feet
    feet = feet_trajectories(grid, plan, energy, num_frames)
    # 3. pelvis: over the feet, swaying and bouncing; upper body angles
    angles = np.zeros((num_frames, NUM_JOINTS, 3))
    centre = feet[:, :, :2].mean(axis=1)
    sway = amps["sway"] * every_other
    pelvis_xy = centre + np.stack([sway, np.full(num_frames, _PELVIS_BEHIND)], axis=1)
    angles[:, 0, _ROLL] = -2.0 * sway  # hips tip toward the standing side
    angles[:, 0, _YAW] = 0.5 * amps["twist"] * every_other
    for j in _SPINE:
        angles[:, j, _ROLL] = 2.0 * sway / 3.0  # upper body stays over the pelvis
        angles[:, j, _YAW] = -amps["twist"] * every_other / 2.0
        angles[:, j, _PITCH] = (2.0 * amps["bounce"] * on_beat + amps["lean"] * every_other) / 3.0
    angles[:, 12, _PITCH] = 0.4 * amps["nod"] * on_beat
    angles[:, 15, _PITCH] = amps["nod"] * on_beat
    angles[:, 15, _ROLL] = amps["tilt"] * every_other
    _arm_angles(angles, amps, on_beat, every_other)
    # 4. pelvis height: below straight-leg height, bouncing down on the beat
    pelvis_rot = UPRIGHT.as_matrix() @ _euler_rotations(angles[:, :1])[:, 0]
    pelvis_z = _pelvis_height(pelvis_rot, pelvis_xy, feet) - amps["bounce"] * on_beat
    trans = np.concatenate([pelvis_xy, pelvis_z[:, None]], axis=1)
    # 5. legs by IK, feet flat
    local = _euler_rotations(angles)
    local[:, 0] = pelvis_rot
    for side_idx, (hip_j, knee_j, ankle_j) in enumerate(((1, 4, 7), (2, 5, 8))):
        hip = trans + pelvis_rot @ OFFSETS[hip_j]
        local[:, hip_j], local[:, knee_j] = two_bone_ik(
            pelvis_rot, hip, feet[:, side_idx], OFFSETS[knee_j], OFFSETS[ankle_j]
        )
        leg = pelvis_rot @ local[:, hip_j] @ local[:, knee_j]
        local[:, ankle_j] = np.swapaxes(leg, 1, 2) @ UPRIGHT.as_matrix()
    poses = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(num_frames, -1, 3)
    return poses.astype(np.float32), trans.astype(np.float32)


def _arm_angles(
    angles: np.ndarray, amps: dict[str, np.ndarray], on_beat: np.ndarray, every_other: np.ndarray
) -> None:
    """Fill shoulder and elbow angles (in place) from the arm move amplitudes."""
    left_up = (1.0 + every_other) / 2.0
    raise_l = amps["wave"] * left_up
    raise_r = amps["wave"] * (1.0 - left_up)
    flex = amps["pump"] * on_beat + amps["clap"] * (1.0 - on_beat)
    for shoulder, elbow, sign, raised, swing in (
        (_L_SHOULDER, _L_ELBOW, 1.0, raise_l, amps["swing"] * every_other),
        (_R_SHOULDER, _R_ELBOW, -1.0, raise_r, -amps["swing"] * every_other),
    ):
        angles[:, shoulder, _ROLL] = -sign * (_ARM_REST_DOWN - raised)
        angles[:, shoulder, _PITCH] = -(flex + swing + 0.5 * amps["clap"])
        angles[:, shoulder, _YAW] = -sign * amps["clap"] * (1.0 - on_beat)  # hands meet in front
        bend = _ELBOW_REST + 1.4 * amps["pump"] * on_beat + raised
        angles[:, elbow, _YAW] = -sign * np.minimum(bend, _ELBOW_MAX)


def _pelvis_height(pelvis_rot: np.ndarray, pelvis_xy: np.ndarray, feet: np.ndarray) -> np.ndarray:
    """(T,) pelvis z that leaves both legs `_KNEE_SOFTNESS` below full extension."""
    heights = []
    for side_idx, (hip_j, knee_j, ankle_j) in enumerate(((1, 4, 7), (2, 5, 8))):
        hip_offset = pelvis_rot @ OFFSETS[hip_j]  # (T,3)
        reach = np.linalg.norm(OFFSETS[knee_j] + OFFSETS[ankle_j]) - _IK_MARGIN
        horizontal = np.linalg.norm(pelvis_xy + hip_offset[:, :2] - feet[:, side_idx, :2], axis=1)
        vertical = np.sqrt(np.maximum(reach**2 - horizontal**2, 0.0))
        heights.append(feet[:, side_idx, 2] + vertical - hip_offset[:, 2])
    base = np.minimum(*heights)
    return np.minimum(base, np.median(base)) - _KNEE_SOFTNESS
