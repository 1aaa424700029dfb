"""Dance from a motion graph: a beat-matched path of library segments, warped onto the music.

Recipe (after Kim et al. 2003 and ChoreoMaster, Chen et al. 2021):
1. Pulses: the music's beat grid with half beats inserted; every segment spans 1 to 8 pulses,
   so its kinematic beats land on music (half) beats, time-warped by at most +-`MAX_WARP`.
2. Path: from segment to segment along graph edges, greedily by cost: transition mismatch, warp,
   motion energy against the music's loudness (smoothed over sections), style changes, stepping
   on loud passages, both hands holding a partner, both arms held still, drift and turn away
   from the front, recent reuse, plus seeded noise.
   A segment that would turn the dancer past `max_turn_deg` starts turned back (by at most
   `RECENTRE`, faded in like a jump) or is excluded.
3. Frames: each segment is resampled onto its pulses (quaternion nlerp), turned about z and
   shifted so it starts where the previous one ended; at a jump the pose difference is faded out
   over `BLEND` frames (offset blending).
4. Framing: facing and distance from the start are soft-limited below `max_turn_deg` and
   `stay_radius`; then planted feet are pinned by leg IK (contact.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from tasks.base import InputError
from tasks.motion.choreographer import beat_grid, smoothstep
from tasks.motion.library.clips import LIBRARY_FPS
from tasks.motion.library.contact import plant_feet
from tasks.motion.library.graph import MotionGraph
from tasks.motion.library.segments import root_yaw, rotate_z

MAX_WARP = 0.2  # a segment plays at most 20% faster or slower than captured
PULSES_PER_SEGMENT = (1, 2, 3, 4, 6, 8)  # half beats a segment may span
BLEND = 8  # frames (~0.25 s) over which a jump's pose difference fades out
SECTION_BEATS = 2.0  # gaussian sigma, in beats, of the loudness the motion energy follows
# Library energy ranks asked for by silence and by full loudness: the extremes (standing about,
# leaps and kicks) stay rare, as in real dance.
ENERGY_RANKS = (0.15, 0.85)
RECENT = 24  # segments that count as recently used
RECENTRE = np.radians(20.0)  # facing change a jump may add to bring a segment within the limit
SOFT_START = 0.75  # fraction of a framing limit below which motion is left untouched

# Path cost weights; each term is ~1 at a clearly unwanted value.
_W_TRANSITION = 1.0 / 0.05  # per metre of boundary mismatch
_W_WARP = 0.5 / np.log1p(MAX_WARP)
_W_ENERGY = 4.0
_W_STYLE = 1.5
_W_STEPS = 0.6
_W_TURN = 0.6
_W_RECENTRE = 0.5
_W_DRIFT = 1.0
_W_RECENT = 4.0
# Per share of frames in which both hands hold a partner / both arms stay still. Mild: the
# held-out real dance is salsa, so avoiding its holds harder costs FID_k (bench/motion_quality.py).
_W_BOTH_HELD = 0.5
_W_STILL = 0.5  # per share of frames in which both arms stay still
_W_OFFBEAT = 0.3  # a segment ending on a half beat rather than a beat
_NOISE = 0.4
_OPENING_NOISE = 2.0  # the first segment: the seed picks among many good openings


@dataclass(frozen=True)
class Framing:
    """Limits that keep the dancer usable by a 2D animator."""

    max_turn: float  # radians of root yaw either side of the front
    stay_radius: float  # metres from the start position


@dataclass
class _Path:
    """Chosen segments with their pulse spans and ground placement."""

    segment: list[int]
    pulse: list[int]  # first pulse of each segment
    span: list[int]  # pulses spanned
    turn: list[float]  # yaw added to the segment's own facing
    origin: list[np.ndarray]  # world ground position of the segment's start


def pulse_grid(
    onset: np.ndarray, beats: np.ndarray, tempo: float, num_frames: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Half-beat pulse frames (P,) covering the song and per-pulse loudness in [0, 1] (P,)."""
    grid = beat_grid(onset, beats, tempo, num_frames, fps)
    mids = (grid.frames[:-1] + grid.frames[1:]) / 2.0
    pulses = np.empty(2 * len(grid.frames) - 1)
    pulses[0::2], pulses[1::2] = grid.frames, mids
    loud = gaussian_filter1d(grid.loudness, SECTION_BEATS, mode="nearest")
    period = pulses[-1] - pulses[-2]
    extra = pulses[-1] + period * np.arange(1, 2 * max(PULSES_PER_SEGMENT) + 1)
    level = np.repeat(loud, 2)[: len(pulses)]
    return np.concatenate([pulses, extra]), np.concatenate([level, np.full(len(extra), loud[-1])])


def _soft_limit(x: np.ndarray, limit: float) -> np.ndarray:
    """Identity below SOFT_START * limit, then a tanh knee that never reaches `limit`."""
    knee = SOFT_START * limit
    over = np.abs(x) - knee
    squashed = knee + (limit - knee) * np.tanh(np.maximum(over, 0.0) / (limit - knee))
    return np.where(over > 0, np.sign(x) * squashed, x)


def _placed_heading(
    heading: float, turn: np.ndarray, max_turn: float, jump: np.ndarray
) -> np.ndarray:
    """Facing (n,) at which to start segments with yaw ranges `turn` (n, 3): within +-max_turn
    throughout, at most RECENTRE from `heading`, and on a `jump` (blended anyway) turned back
    toward the front. NaN where no such facing exists."""
    lo, hi = -max_turn - turn[:, 0], max_turn - turn[:, 1]
    wanted = np.where(jump, np.clip(0.0, heading - RECENTRE, heading + RECENTRE), heading)
    placed = np.clip(wanted, lo, np.maximum(lo, hi))
    return np.where((lo <= hi) & (np.abs(placed - heading) <= RECENTRE), placed, np.nan)


def _plan(
    graph: MotionGraph,
    pulses: np.ndarray,
    level: np.ndarray,
    first: int,
    num_frames: int,
    framing: Framing,
    rng: np.random.Generator,
) -> _Path:
    """Greedy path over the graph from pulse `first` until the song's last frame is covered."""
    seg = graph.segments
    n = len(seg)
    duration = (seg.end - seg.start).astype(np.float64)
    energy_rank = np.argsort(np.argsort(seg.energy)) / max(n - 1, 1)
    spans = np.array(PULSES_PER_SEGMENT)
    path = _Path([], [], [], [], [])
    recent: list[int] = []
    heading, position, pulse, current = 0.0, np.zeros(2), first, -1

    def score(cands: np.ndarray, mismatch: np.ndarray, strict: bool) -> np.ndarray:
        """(candidates, spans) path cost; inf where a rule excludes the choice."""
        cost = _W_TRANSITION * mismatch + _W_RECENT * np.isin(cands, recent)
        if current >= 0:
            cost = cost + _W_STYLE * (seg.style[cands] != seg.style[current])
        wanted = ENERGY_RANKS[0] + (ENERGY_RANKS[1] - ENERGY_RANKS[0]) * min(level[pulse], 1.0)
        cost = cost + _W_ENERGY * np.abs(energy_rank[cands] - wanted)
        cost = cost + _W_STEPS * min(level[pulse], 1.0) * ~seg.steps[cands]
        cost = cost + _W_BOTH_HELD * seg.both_held[cands] + _W_STILL * seg.still[cands]
        jump = cands != (seg.successor[current] if current >= 0 else -1)
        placed = _placed_heading(heading, seg.turn[cands], framing.max_turn, jump)
        facing = np.where(np.isnan(placed), heading, placed)  # NaN: only allowed when relaxed
        cost = cost + _W_TURN * np.abs(facing + seg.turn[cands, 2]) / framing.max_turn
        cost = cost + _W_RECENTRE * np.abs(facing - heading) / RECENTRE
        after = position + rotate_z(seg.shift[cands], facing)
        cost = cost + _W_DRIFT * (np.linalg.norm(after, axis=1) / framing.stay_radius) ** 2
        cost = cost + (_NOISE if current >= 0 else _OPENING_NOISE) * rng.random(len(cands))
        warp = (pulses[pulse + spans][None] - pulses[pulse]) / duration[cands][:, None]
        offbeat = _W_OFFBEAT * ((pulse + spans) % 2 == 1)  # even pulses are the beats
        total = cost[:, None] + _W_WARP * np.abs(np.log(warp)) + offbeat[None]
        allowed = (cands != current)[:, None] & (np.abs(warp - 1.0) <= MAX_WARP + 1e-9)
        if strict:
            allowed &= np.isfinite(placed)[:, None]
        return np.where(allowed, total, np.inf)

    while pulses[pulse] < num_frames:
        cands, mismatch = (np.arange(n), np.zeros(n)) if current < 0 else graph.transitions(current)
        total = score(cands, mismatch, strict=True)
        if not np.isfinite(total).any() and current >= 0:  # dead end: jump anywhere, blended
            cands, mismatch = np.arange(n), graph.mismatch_from(current)
            total = score(cands, mismatch, strict=True)
        if not np.isfinite(total).any():  # the soft framing limit in _frames corrects the turn
            total = score(cands, mismatch, strict=False)
        if not np.isfinite(total).any():
            raise InputError(
                f"the motion library has no segment that fits a beat period of "
                f"{(pulses[pulse + 2] - pulses[pulse]) / LIBRARY_FPS:.2f} s; use a bigger library"
            )
        i, j = np.unravel_index(np.argmin(total), total.shape)
        c, s = int(cands[i]), int(spans[j])
        jump = np.array([current < 0 or c != seg.successor[current]])
        placed = _placed_heading(heading, seg.turn[c : c + 1], framing.max_turn, jump)[0]
        heading = heading if np.isnan(placed) else placed
        path.segment.append(c)
        path.pulse.append(pulse)
        path.span.append(s)
        path.turn.append(heading - seg.yaw[seg.start[c]])
        path.origin.append(position.copy())
        position = position + rotate_z(seg.shift[c], heading)
        heading = heading + seg.turn[c, 2]
        recent = [*recent[-(RECENT - 1) :], c]
        current, pulse = c, pulse + s
    return path


def _turn_z(angle: np.ndarray | float) -> Rotation:
    """Rotation(s) about the world's vertical axis by `angle` radians."""
    return Rotation.from_rotvec(np.multiply.outer(angle, [0.0, 0.0, 1.0]))


def _quat_lerp(q0: np.ndarray, q1: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Normalised lerp of unit quaternions (..., 4) along the shorter arc; a broadcasts."""
    q1 = np.where((q0 * q1).sum(-1, keepdims=True) < 0, -q1, q1)
    q = q0 * (1.0 - a) + q1 * a
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _frames(graph: MotionGraph, path: _Path, pulses: np.ndarray, num_frames: int):
    """Local rotations (T,24,4 quaternions) and root positions (T,3) along `path`."""
    seg = graph.segments
    segs = np.array(path.segment)
    start, end = seg.start[segs], seg.end[segs]
    m0 = pulses[np.array(path.pulse)]
    m1 = pulses[np.array(path.pulse) + np.array(path.span)]
    turn, origin = np.array(path.turn), np.array(path.origin)
    # 1. time warp: output frame f of instance k reads source time start + u * (end - start)
    f = np.arange(num_frames, dtype=np.float64)
    k = np.searchsorted(m0, f, side="right") - 1
    t = start[k] + (f - m0[k]) / (m1[k] - m0[k]) * (end[k] - start[k])
    i = np.minimum(np.floor(t).astype(np.int64), end[k] - 1)
    a = (t - i)[:, None, None]
    quats = _quat_lerp(seg.quats[i], seg.quats[i + 1], a)
    trans = seg.trans[i] * (1.0 - a[:, 0]) + seg.trans[i + 1] * a[:, 0]
    # 2. placement: turn about z and move so each instance starts where the last one ended
    quats[:, 0] = (_turn_z(turn[k]) * Rotation.from_quat(quats[:, 0])).as_quat()
    trans[:, :2] = rotate_z(trans[:, :2] - seg.trans[start[k], :2], turn[k]) + origin[k]
    # 3. jumps and re-centred facings: fade the previous end pose into the new start
    for n in range(1, len(segs)):
        before, after = seg.quats[end[n - 1]].copy(), seg.quats[start[n]].copy()
        before[0] = (_turn_z(turn[n - 1]) * Rotation.from_quat(before[0])).as_quat()
        after[0] = (_turn_z(turn[n]) * Rotation.from_quat(after[0])).as_quat()
        offset = (Rotation.from_quat(before) * Rotation.from_quat(after).inv()).as_rotvec()
        lift = seg.trans[end[n - 1], 2] - seg.trans[start[n], 2]
        if np.abs(offset).max() < 1e-6 and abs(lift) < 1e-6:  # a clip continuing: nothing to fade
            continue
        width = min(BLEND, m1[n] - m0[n])
        span = np.arange(int(np.ceil(m0[n])), min(int(np.ceil(m0[n] + width)), num_frames))
        if span.size == 0:
            continue
        fade = 1.0 - smoothstep((span - m0[n]) / width)
        delta = Rotation.from_rotvec((offset[None] * fade[:, None, None]).reshape(-1, 3))
        body = Rotation.from_quat(quats[span].reshape(-1, 4))
        quats[span] = (delta * body).as_quat().reshape(len(span), 24, 4)
        trans[span, 2] += lift * fade
    return quats, trans


def synthesize(
    graph: MotionGraph,
    onset: np.ndarray,
    beats: np.ndarray,
    tempo: float,
    num_frames: int,
    fps: float,
    seed: int,
    framing: Framing,
    energy: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Poses (T,24,3) and trans (T,3) float32 dancing to the music, at the library's 30 fps.

    `onset` (T,) onset strength in [0, 1], `beats` beat times in seconds, `energy` scales the
    motion energy the music asks for (0 calmest segments, 1 as loud as the music, 2 wilder).
    """
    if fps != LIBRARY_FPS:
        raise InputError(
            f"the library model dances at {LIBRARY_FPS} fps, the audio artifact has {fps}"
        )
    pulses, level = pulse_grid(onset, beats, tempo, num_frames, fps)
    first = int(np.searchsorted(pulses, 0.0, side="right") - 1)
    rng = np.random.default_rng(seed)
    path = _plan(graph, pulses, level * energy, first, num_frames, framing, rng)
    quats, trans = _frames(graph, path, pulses, num_frames)
    # 4. framing: soft limits on facing and distance from the start
    root = Rotation.from_quat(quats[:, 0])
    yaw = np.unwrap(root_yaw(root))
    quats[:, 0] = (_turn_z(_soft_limit(yaw, framing.max_turn) - yaw) * root).as_quat()
    radius = np.linalg.norm(trans[:, :2], axis=1)
    scale = _soft_limit(radius, framing.stay_radius) / np.maximum(radius, 1e-9)
    trans[:, :2] *= scale[:, None]
    local = Rotation.from_quat(quats.reshape(-1, 4)).as_matrix().reshape(num_frames, 24, 3, 3)
    local = plant_feet(local, trans)
    poses = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(num_frames, 24, 3)
    return poses.astype(np.float32), trans.astype(np.float32)
