"""What a person sees in the default output, on real photos and real music (issue 13's bench).

    python bench/cutout_quality.py [--photos P ...] [--songs S ...] [--seconds 10] [--out bench/out]

For every photo (default: ../shared/photos/* beside scikit-image's astronaut) and song (default:
vibe_ace and choice_drumbass under ../shared/music when present, else a synthesized song), the first
--seconds of the song go through `music2dance run` on the default params, as a user runs it; the
run is then measured by the evaluate stage (tasks/evaluate/body.py, identity) and the animator is
timed alone on the run's aligned inputs at its resolution on this machine's cores. Prints one row
per photo and song, then the medians per photo against the issue's goals, and writes a contact
sheet per run (the reference photo, 8 frames each beside what the metrics saw) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import zarr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from artifacts.remote import open_store  # noqa: E402
from flows.dag import param_rules  # noqa: E402
from flows.eval_report import SHEET_FRAMES, body_checks  # noqa: E402
from flows.evaluate import evaluate_run, evaluation_params  # noqa: E402
from music2dance_cli.quiet import native_noise_filtered  # noqa: E402
from params import resolve_params  # noqa: E402
from tasks.animate.task import ANIMATORS  # noqa: E402
from tasks.base import StageContext  # noqa: E402
from tasks.evaluate.gates import evaluate_gates  # noqa: E402
from tasks.evaluate.plots import contact_sheet_figure  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "photos"
MUSIC = ROOT.parent / "shared" / "music"
SONGS = ("vibe_ace.ogg", "choice_drumbass.ogg")
TIMED_FRAMES = 90  # frames the animator renders for its fps figure
COLUMNS = ("coverage", "leftovers", "fragments", "fill_quality", "identity", "fps")
GOALS = {"coverage": (">=", 0.9), "leftovers": ("<=", 0.01), "fragments": ("<=", 0.0),
         "identity": ("<=", 0.45), "fps": (">=", 15.0)}  # fmt: skip


def default_photos(out: Path) -> list[Path]:
    from skimage.data import astronaut

    photos = sorted(p for p in PHOTOS.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    astro = out / "inputs" / "astronaut.png"
    astro.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(astro), astronaut()[..., ::-1])
    return [*photos, astro]


def clip_songs(songs: list[Path], seconds: float, out: Path) -> list[Path]:
    """The first `seconds` of each song as wav under out/inputs; a synthesized song if none."""
    import imageio_ffmpeg

    folder = out / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    if not songs:
        from tasks.audio.synth import synth_music, write_wav

        path = folder / "synth.wav"
        write_wav(path, synth_music(seconds, bpm=120.0, seed=0, sample_rate=22050), 22050)
        return [path]
    clips = []
    for song in songs:
        clip = folder / f"{song.stem}.wav"
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        cmd = [ffmpeg, "-y", "-loglevel", "error", "-i", str(song), "-t", str(seconds), str(clip)]
        subprocess.run(cmd, check=True)
        clips.append(clip)
    return clips


def run(audio: Path, photo: Path, store: Path, out: Path, overrides: list[str]) -> dict | None:
    """`music2dance run` in a fresh process; the run report, or None when the run failed."""
    report = out / "reports" / f"{photo.stem}_{audio.stem}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "music2dance_cli.main", "run", "--store", str(store),
           "--audio", str(audio), "--image", str(photo), "--report", str(report),
           "--out", str(out / "videos" / f"{photo.stem}_{audio.stem}.mp4")]  # fmt: skip
    for item in overrides:
        cmd += ["--set", item]
    (out / "videos").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        show(f"{photo.name} / {audio.name}: run failed: {lines[-1] if lines else '?'}")
        return None
    return json.loads(report.read_text())


def animator_fps(align, overrides: list[str]) -> float:
    """Frames/s of the configured animator alone (prepare excluded) on the run's aligned inputs."""
    params = resolve_params(param_rules(), overrides)["animate"]
    frames = min(TIMED_FRAMES, align["parts"].shape[0])
    scratch = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    ctx = StageContext(params, {"align": align}, scratch, Path(tempfile.gettempdir()))
    chunks = ANIMATORS[params["model"]](ctx)
    done = len(next(chunks))  # the first chunk pays for `prepare`
    rendered, start = 0, time.perf_counter()
    for chunk in chunks:
        rendered += len(chunk)
        if done + rendered >= frames:
            break
    return rendered / (time.perf_counter() - start)


def measure(report: dict, sheet: Path, overrides: list[str]) -> dict[str, float | None]:
    """Evaluate-stage metrics of a run, its animator's fps; writes its contact sheet."""
    store = report["store"]
    keys = {s["name"]: s["key"] for s in report["stages"]}
    groups = {name: open_store(store).open(name, key) for name, key in keys.items()}
    params, _ = evaluation_params([o for o in overrides if o.startswith("evaluate.")])
    metrics = dict(evaluate_run(keys, params, store).attrs["metrics"])
    count = groups["animate"]["frames"].shape[0]
    indices = np.linspace(0, count - 1, min(SHEET_FRAMES, count)).astype(int)
    photo, frames, checks = body_checks(groups, indices)
    reference = np.asarray(groups["align"]["reference"])
    fps = float(groups["animate"].attrs["fps"])
    contact_sheet_figure(
        reference, photo, frames, checks, indices.tolist(), fps, sheet.stem
    ).savefig(sheet)
    return metrics | {"fps": animator_fps(groups["align"], overrides)}


def show(line: str) -> None:
    print(line, flush=True)  # noqa: T201


def cell(value: float | None) -> str:
    return "   n/a" if value is None or not np.isfinite(value) else f"{value:6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos", nargs="*", type=Path, help="default: ../shared/photos/* + astronaut"
    )
    parser.add_argument(
        "--songs", nargs="*", type=Path, help="default: ../shared/music vibe_ace, choice_drumbass"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each song's clip")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "out", help="sheets, videos, store"
    )
    parser.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE")
    args = parser.parse_args()
    out = args.out.resolve()
    photos = args.photos or default_photos(out)
    songs = (
        args.songs
        if args.songs is not None
        else [MUSIC / s for s in SONGS if (MUSIC / s).is_file()]
    )
    clips = clip_songs(songs, args.seconds, out)
    _, gates = evaluation_params([o for o in args.set if o.startswith("gates.")])
    show(f"{os.cpu_count()} cores; animator fps at the align resolution")
    show(f"{'photo / song':34} " + " ".join(f"{c[:6]:>6}" for c in COLUMNS) + "  gates failed")
    results: dict[str, list[dict]] = {}
    for photo in photos:
        for clip in clips:
            report = run(clip, photo, out / "store", out, args.set)
            if report is None:
                continue
            row = measure(report, out / f"{photo.stem}_{clip.stem}.png", args.set)
            results.setdefault(photo.stem, []).append(row)
            failed = ";".join(evaluate_gates(row, gates)) or "pass"
            label = f"{photo.stem} / {clip.stem}"
            show(f"{label:34} " + " ".join(cell(row.get(c)) for c in COLUMNS) + f"  {failed}")
    show("\nmedian per photo; goals: " + ", ".join(f"{k} {op} {v}" for k, (op, v) in GOALS.items()))
    for name, rows in results.items():
        medians = {
            c: np.nanmedian([np.nan if r.get(c) is None else r[c] for r in rows]) for c in COLUMNS
        }
        missed = [
            k
            for k, (op, v) in GOALS.items()
            if not (medians[k] >= v if op == ">=" else medians[k] <= v)
        ]
        show(
            f"{name:34} "
            + " ".join(cell(medians[c]) for c in COLUMNS)
            + "  missed: "
            + (", ".join(missed) or "none")
        )


if __name__ == "__main__":
    with native_noise_filtered():  # MediaPipe's TensorFlow Lite lines, as the CLI drops them
        main()
