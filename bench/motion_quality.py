"""Library motion model vs the choreographer on real songs, judged against held-out real dance.

Some mocap clips are held out of the library (the graph is built without them); they and their
mirror images (real dance too, and the library is mirrored as well) are cut into 5 s windows: the
reference set for FID_k / FID_g (AIST++ kinetic and geometric features, Bailando's
normalisation). Both models dance every song with SEEDS seeds; their dances are cut into the same
windows. The clips kept in the library are scored too: the FID that real dance of other takes
gets against this small reference set, the floor to read the models' numbers against.

Usage: python bench/motion_quality.py [--songs a.ogg ...] [--library PATH] [--sheets DIR]
Prints one table row per model (and the held-out real dance), then the synthesis time of a 30 s
song; writes DensePose contact sheets (12 frames over the first 10 s of the first song) per model.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from params import load_defaults  # noqa: E402
from tasks.audio.decode import load_audio  # noqa: E402
from tasks.audio.features import FPS, SAMPLE_RATE, extract_features  # noqa: E402
from tasks.audio.synth import synth_music  # noqa: E402
from tasks.body.beats import beat_alignment_score  # noqa: E402
from tasks.body.skeleton import forward_kinematics  # noqa: E402
from tasks.densepose.colors import colorize  # noqa: E402
from tasks.evaluate import motion as metrics  # noqa: E402
from tasks.motion.choreographer import choreograph  # noqa: E402
from tasks.motion.library.clips import load_library, mirror_clip  # noqa: E402
from tasks.motion.library.graph import build_graph  # noqa: E402
from tasks.motion.library.synthesis import Framing, synthesize  # noqa: E402
from tasks.render.body import builtin_body, pose_body  # noqa: E402
from tasks.render.camera import fit_camera, project  # noqa: E402
from tasks.render.raster import part_maps, rasterize  # noqa: E402

# Held out: one salsa take (lead and follow, so neither half leaks), two modern, one Charleston.
HOLDOUT = ("cmu/60_14", "cmu/61_14", "cmu/05_12", "cmu/05_13", "cmu/93_08")
WINDOW, STRIDE = 150, 30  # 5 s windows every 1 s (EDGE evaluates 5 s clips)
SEEDS = 3  # dances per song and model
STEP_LIFT = 0.05  # m: an ankle this far above its lowest height is a step
EDGE_GT_PFC = 1.5363  # EDGE paper, AIST++ test ground truth (reference/edge.md)
SHEET_FRAMES, SHEET_COLUMNS, SHEET_SECONDS, SHEET_SIZE = 24, 8, 10.0, 256
SKATING = {k: load_defaults()["evaluate"][k] for k in ("contact_height", "skate_speed")}


def emit(line: str) -> None:
    print(line, flush=True)  # noqa: T201 (a bench script reports on stdout)


def windows(joints: np.ndarray) -> list[np.ndarray]:
    return [joints[s : s + WINDOW] for s in range(0, len(joints) - WINDOW + 1, STRIDE)]


def step_stats(joints: np.ndarray) -> tuple[float, float]:
    """Steps per 10 s (an ankle rising >= STEP_LIFT) and the fraction of 4 s windows with one."""
    lift = joints[:, (7, 8), 2] - joints[:, (7, 8), 2].min(axis=0)
    up = lift >= STEP_LIFT
    rises = int((up[1:] & ~up[:-1]).sum())
    per_10s = rises / (len(joints) / FPS) * 10.0
    window = 4 * FPS
    covered = [up[s : s + window].any() for s in range(0, len(joints) - window + 1, FPS)]
    return per_10s, float(np.mean(covered)) if covered else 0.0


def song_features(path: Path | None) -> dict:
    if path is None:
        samples = synth_music(30.0, 124.0, seed=0, sample_rate=SAMPLE_RATE)
    else:
        samples = load_audio(path, SAMPLE_RATE)
    feats = extract_features(samples)
    return {"onset": feats.onset, "beats": feats.beats, "tempo": feats.tempo,
            "num_frames": feats.num_frames}  # fmt: skip


def dance(model: str, song: dict, graph, framing: Framing, seed: int, frames: int | None = None):
    num_frames = frames or song["num_frames"]
    onset, beats = song["onset"][:num_frames], song["beats"][song["beats"] < num_frames / FPS]
    energy = load_defaults()["motion"]["energy"]
    if model == "choreographer":
        return choreograph(onset, beats, song["tempo"], num_frames, FPS, seed=seed, energy=energy)
    return synthesize(graph, onset, beats, song["tempo"], num_frames, FPS, seed, framing, energy)


def evaluate(name: str, dances: list[tuple[np.ndarray, np.ndarray | None]], reference) -> dict:
    """Metrics over dances [(joints (T,24,3), music beats in s or None)]."""
    wins = [w for joints, _ in dances for w in windows(joints)]
    kin = np.stack([metrics.kinetic_features(metrics.root_relative(w), FPS) for w in wins])
    geo = np.stack([metrics.geometric_features(metrics.root_relative(w)) for w in wins])
    ref_k, gen_k = metrics.normalize_by_reference(reference[0], kin)
    ref_g, gen_g = metrics.normalize_by_reference(reference[1], geo)
    steps = [step_stats(joints) for joints, _ in dances]
    bas = [beat_alignment_score(j, b * FPS, FPS) for j, b in dances if b is not None]
    return {
        "model": name,
        "BAS": np.mean(bas) if bas else np.nan,
        "PFC": np.mean([metrics.physical_foot_contact(w, FPS) for w in wins]),
        "skate": np.mean([metrics.foot_skating_ratio(j, FPS, **SKATING) for j, _ in dances]),
        "steps/10s": np.mean([s[0] for s in steps]),
        "4s w/ step": np.min([s[1] for s in steps]),
        "FID_k": metrics.frechet_distance(ref_k, gen_k),
        "FID_g": metrics.frechet_distance(ref_g, gen_g),
        "Div_k": metrics.diversity(gen_k),
        "Div_g": metrics.diversity(gen_g),
        "windows": len(wins),
    }


def contact_sheet(poses: np.ndarray, trans: np.ndarray, path: Path, title: str) -> None:
    """24 DensePose-coloured frames spread over the first 10 s, 3 rows x 8, fixed camera."""
    body = builtin_body()
    verts, _ = pose_body(body, poses, trans)
    size = SHEET_SIZE
    camera = fit_camera(
        verts.min(1), verts.max(1), trans, height=size, width=size, margin=0.1, follow=False
    )
    last = min(len(poses), int(SHEET_SECONDS * FPS)) - 1
    picks = np.linspace(0, last, SHEET_FRAMES).round().astype(int)
    tiles = []
    for f in picks:
        span = slice(f, f + 1)
        face_ids = rasterize(project(verts[span], camera, span), body.faces, size, size)
        rgb = colorize(part_maps(face_ids, body.face_parts))[0].copy()
        cv2.putText(rgb, f"{f / FPS:.1f}s", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255,) * 3)
        tiles.append(rgb)
    rows = [
        np.concatenate(tiles[i : i + SHEET_COLUMNS], axis=1)
        for i in range(0, SHEET_FRAMES, SHEET_COLUMNS)
    ]
    sheet = np.concatenate(rows, axis=0)
    cv2.putText(sheet, title, (6, len(sheet) - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255,) * 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    music = sorted((ROOT.parent / "shared" / "music").glob("*.ogg"))
    parser.add_argument("--songs", type=Path, nargs="*", default=music)
    parser.add_argument("--library", type=Path, default=None, help="default: the bundled one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sheets", type=Path, default=Path(tempfile.gettempdir()) / "motion_quality"
    )
    args = parser.parse_args()

    clips = load_library(args.library)
    missing = set(HOLDOUT) - {c.name for c in clips}
    if missing:
        raise SystemExit(f"the library lacks the held-out clips {sorted(missing)}: edit HOLDOUT")
    motion = load_defaults()["motion"]
    framing = Framing(np.radians(motion["max_turn_deg"]), motion["stay_radius"])
    held = [c for c in clips if c.name in HOLDOUT]
    kept = [c for c in clips if c.name not in HOLDOUT]
    start = time.perf_counter()
    graph = build_graph(kept)
    build_s = time.perf_counter() - start
    real = [forward_kinematics(c.poses, c.trans) for c in (*held, *map(mirror_clip, held))]
    ref_wins = [w for j in real for w in windows(j)]
    reference = (
        np.stack([metrics.kinetic_features(metrics.root_relative(w), FPS) for w in ref_wins]),
        np.stack([metrics.geometric_features(metrics.root_relative(w)) for w in ref_wins]),
    )
    songs = [(p.stem, song_features(p)) for p in args.songs] or [("synth", song_features(None))]
    emit(
        f"{len(kept)} library clips ({len(graph.segments)} segments, graph built in "
        f"{build_s:.2f} s), {len(held)} held out (+ mirrors: {len(ref_wins)} windows), "
        f"{len(songs)} songs x {SEEDS} seeds"
    )

    library_real = [(forward_kinematics(c.poses, c.trans), None) for c in kept]
    rows = [
        evaluate("held-out real", [(j, None) for j in real], reference),
        evaluate("library real", library_real, reference),
    ]
    for model in ("choreographer", "library"):
        dances = []
        for (name, song), seed in itertools.product(songs, range(args.seed, args.seed + SEEDS)):
            poses, trans = dance(model, song, graph, framing, seed)
            dances.append((forward_kinematics(poses, trans), song["beats"]))
            if name == songs[0][0] and seed == args.seed:
                sheet = args.sheets / f"{model}_{name}.png"
                contact_sheet(poses, trans, sheet, f"{model} | {name}")
                emit(f"contact sheet: {sheet}")
        rows.append(evaluate(model, dances, reference))

    keys = list(rows[0])
    emit(" | ".join(f"{k:>13}" for k in keys))
    for row in rows:
        emit(" | ".join(f"{v:>13}" if isinstance(v, str) else f"{v:>13.4g}" for v in row.values()))
    chor, lib = rows[-2], rows[-1]
    emit(
        f"goals: FID_k choreographer / library = {chor['FID_k'] / lib['FID_k']:.1f}x (>= 3); "
        f"library PFC {lib['PFC']:.3f} vs EDGE's ground truth {EDGE_GT_PFC} (AIST++, <=); "
        f"4 s windows with a step, worst song: {lib['4s w/ step']:.0%} (100%)"
    )

    song = songs[0][1]
    frames = min(30 * FPS, song["num_frames"])
    for model in ("choreographer", "library"):
        times = []
        for seed in range(3):
            start = time.perf_counter()
            dance(model, song, graph, framing, seed, frames)
            times.append(time.perf_counter() - start)
        emit(f"{model}: {np.median(times):.3f} s to dance {frames / FPS:.0f} s (median of 3)")


if __name__ == "__main__":
    main()
