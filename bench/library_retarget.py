"""How faithful is the bundled motion library to its CMU source? Angles, feet, and a picture.

For every take it re-reads the ASF/AMC source and compares it with the clip stored in the library
(after retargeting, 30 fps resampling and int16 quaternion storage), at the source frames that
fall on the 30 fps grid:
- per mapped SMPL bone, the angle between the library's bone (forward kinematics with SMPL's bone
  offsets) and the source's bone: median and max over the library;
- the lowest foot joint's height: how often it sinks below z = 0 or hovers above 5 cm;
- a stick-figure sheet per take (front and side, source in grey beside SMPL in colour, left side
  red) written to --out.

    .venv/bin/python bench/library_retarget.py [--mocap ../shared/mocap] [--out /tmp/library_sheets]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tasks.body.skeleton import JOINT_NAMES, PARENTS, UPRIGHT, forward_kinematics  # noqa: E402
from tasks.motion.library.acclaim import read_asf_amc  # noqa: E402
from tasks.motion.library.build import find_asf  # noqa: E402
from tasks.motion.library.clips import LIBRARY_FPS, load_library  # noqa: E402
from tasks.motion.library.retarget import CHILD, map_joints  # noqa: E402

SOURCE_FPS = {"60": 60, "61": 60, "93": 60, "05": 120, "19": 120}  # as in data/README.md
SHEETS = ("60_01", "61_03", "05_06", "05_16", "93_08", "19_15")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _yaw_fit(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """(3,3) turn about z that best takes direction set `theirs` (N,3) onto `ours` (N,3)."""
    cross = (theirs[:, 0] * ours[:, 1] - theirs[:, 1] * ours[:, 0]).sum()
    angle = np.arctan2(cross, (theirs[:, :2] * ours[:, :2]).sum())
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def compare(amc: Path, clip) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, tuple]:
    """Bone angles (deg) per SMPL joint, library joints, source points turned alike, parents."""
    source = read_asf_amc(find_asf(amc), amc, SOURCE_FPS[amc.stem.split("_")[0]])
    step = round(source.fps / LIBRARY_FPS)
    _, points = source.forward_kinematics()
    points = UPRIGHT.apply(points[::step].reshape(-1, 3)).reshape(-1, points.shape[1], 3)
    frames = min(len(points), len(clip.poses))
    joints = forward_kinematics(clip.poses[:frames], clip.trans[:frames])
    points = points[:frames]
    src = map_joints(source)
    bones = {j: c for j, c in CHILD.items() if j > 0 and src[c] is not None}
    ours = np.stack([_unit(joints[:, c] - joints[:, j]) for j, c in bones.items()], axis=1)
    theirs = np.stack(
        [_unit(points[:, src[c]] - points[:, src[j]]) for j, c in bones.items()], axis=1
    )
    turn = _yaw_fit(ours[0], theirs[0])
    theirs = theirs @ turn.T
    cos = np.clip((ours * theirs).sum(-1), -1.0, 1.0)
    angles = {JOINT_NAMES[j]: np.degrees(np.arccos(cos[:, k])) for k, j in enumerate(bones)}
    scale = np.median(np.linalg.norm(joints[:, 4] - joints[:, 1], axis=-1)) / np.median(
        np.linalg.norm(points[:, src[4]] - points[:, src[1]], axis=-1)
    )
    placed = (points - points[:1, src[0]]) * scale @ turn.T + joints[:1, 0]
    return angles, joints, placed, source.parents


def sheet(name: str, joints: np.ndarray, points: np.ndarray, parents: tuple, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = np.linspace(0, len(joints) - 1, 6).astype(int)
    fig, axes = plt.subplots(2, 6, figsize=(18, 6.5))
    for col, t in enumerate(frames):
        for row, (axis, view) in enumerate([(0, "front (x-z, seen from -Y)"), (1, "side (y-z)")]):
            ax = axes[row, col]
            centre = joints[t, 0, axis]
            for j, p in enumerate(parents):
                if p >= 0:
                    xs, zs = points[t, [j, p], axis] - 1.0, points[t, [j, p], 2]
                    ax.plot(xs, zs, color="0.6", lw=2)
            for j, p in enumerate(PARENTS):
                if p >= 0:
                    left = "left" in JOINT_NAMES[j]
                    xs, zs = joints[t, [j, p], axis], joints[t, [j, p], 2]
                    ax.plot(xs, zs, color="r" if left else "b", lw=2)
            ax.axhline(0.0, color="k", lw=0.5)
            ax.set_xlim(centre - 2.0, centre + 1.0)
            ax.set_ylim(-0.2, 2.0)
            ax.set_aspect("equal")
            ax.set_title(f"{name} {t / LIBRARY_FPS:.1f}s {view}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / f"{name.replace('/', '_')}.png", dpi=60)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument("--out", type=Path, default=Path("/tmp/library_sheets"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    amcs = {p.stem: p for p in args.mocap.glob("*/*.amc")}
    angles: dict[str, list[np.ndarray]] = {}
    lowest = []
    for clip in load_library():
        stem = clip.name.split("/")[-1]
        if stem not in amcs:
            continue
        per_bone, joints, points, parents = compare(amcs[stem], clip)
        for bone, a in per_bone.items():
            angles.setdefault(bone, []).append(a)
        lowest.append(joints[:, [7, 8, 10, 11], 2].min(axis=1))
        if stem in SHEETS:
            sheet(clip.name, joints, points, parents, args.out)
    lines = [f"{'bone (SMPL joint)':<16} {'median deg':>10} {'p99 deg':>8} {'max deg':>8}"]
    for bone, values in angles.items():
        a = np.concatenate(values)
        p99 = np.percentile(a, 99)
        lines.append(f"{bone:<16} {np.median(a):>10.3f} {p99:>8.3f} {a.max():>8.3f}")
    low = np.concatenate(lowest)
    lines.append(
        f"lowest foot joint: median {100 * np.median(low):.1f} cm; below -2 cm "
        f"{100 * np.mean(low < -0.02):.2f}% of frames; above 5 cm {100 * np.mean(low > 0.05):.1f}%"
    )
    lines.append(f"sheets: {args.out}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
