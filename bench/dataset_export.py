"""Dataset export figures: synth's own throughput next to `--export webdataset` and `--export
tiktok` (clips/min), then shard read speed of `ShardDataset` (samples/s, DataLoader with 1 vs 2
workers), and a PNG strip of one exported sample (reference | driving | output frames).

    python bench/dataset_export.py [--clips 6] [--seconds 6] [--resolution 256]
                                   [--songs a.ogg ...] [--photos a.png ...]

Songs default to ../shared/music/*.ogg (else a synthesized song), photos to ../shared/photos/*;
each song is cut to --seconds from 30 s in. Rows pair songs and photos round-robin.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
OUT = ROOT / "bench" / "out"


def cut_songs(songs: list[Path], seconds: float, folder: Path) -> list[Path]:
    """`seconds` of each song from 30 s in (or from the start of a shorter one) as WAV."""
    import librosa
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    cut = []
    for song in songs:
        length = librosa.get_duration(path=song)
        offset = 30.0 if length > 30.0 + seconds else 0.0
        samples, rate = librosa.load(song, sr=22050, offset=offset, duration=seconds)
        path = folder / f"{song.stem}.wav"
        soundfile.write(path, samples, rate)
        cut.append(path)
    return cut


def default_songs(seconds: float, folder: Path) -> list[Path]:
    songs = sorted((SHARED / "music").glob("*.ogg"))
    if songs:
        return songs
    from tasks.audio.synth import synth_music, write_wav

    path = folder / "synth.wav"
    write_wav(path, synth_music(seconds=seconds, bpm=120, seed=0, sample_rate=22050), 22050)
    return [path]


def default_photos() -> list[Path]:
    found = sorted(p for p in (SHARED / "photos").glob("*") if p.suffix in {".png", ".jpeg"})
    if found:
        return found
    from PIL import Image
    from skimage import data

    path = Path(tempfile.mkdtemp()) / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return [path]


def timed_cli(argv: list[str]) -> tuple[float, dict]:
    from music2dance_cli.main import main as cli

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        cli([str(a) for a in argv])
    seconds = time.perf_counter() - start
    out = Path(argv[argv.index("--out") + 1])
    return seconds, json.loads((out / "summary.json").read_text())


def read_rate(root: Path, workers: int, window: int) -> tuple[float, int]:
    """Samples/s of one pass over the train shards through a DataLoader, counted from the first
    sample (worker start-up apart). Workers are spawned: a worker forked from a process that ran
    a Prefect flow (synth, above) exits at start."""
    import torch

    from tasks.dataset.reader import ShardDataset

    dataset = ShardDataset(str(root), "train", window=window, windows_per_clip=4)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, num_workers=workers, multiprocessing_context="spawn"
    )
    items = iter(loader)
    next(items)
    start = time.perf_counter()
    count = sum(1 for _ in items)
    return count / (time.perf_counter() - start), count + 1


def sample_strip(root: Path, path: Path, frames: int = 5) -> Path:
    """Reference, then `frames` driving frames over the same output frames, from the shard."""
    import cv2

    from tasks.dataset.media import decode_png, decode_video
    from tasks.dataset.shards import iter_samples, read_shard_list

    shard = read_shard_list(str(root))[0]
    with open(root / shard["url"], "rb") as f:
        _, sample = next(iter_samples(f))
    driving, output = decode_video(sample["driving.mp4"]), decode_video(sample["output.mp4"])
    picks = np.linspace(0, len(output) - 1, frames).astype(int)
    reference = decode_png(sample["reference.png"])
    blank = np.full_like(reference, 255)
    top = np.concatenate([reference, *driving[picks]], axis=1)
    bottom = np.concatenate([blank, *output[picks]], axis=1)
    strip = np.concatenate([top, bottom], axis=0)
    for i, frame in enumerate(picks):
        x = (i + 1) * reference.shape[1] + 4
        cv2.putText(strip, f"frame {frame}", (x, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0, help="clip length")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--window", type=int, default=16, help="frames per read sample")
    parser.add_argument("--songs", nargs="*", type=Path)
    parser.add_argument("--photos", nargs="*", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="m2d-dataset-bench-"))
    os.environ.update(DO_NOT_TRACK="1", PREFECT_HOME=str(work / "prefect-client"))
    songs = cut_songs(args.songs or default_songs(args.seconds, work), args.seconds, work / "songs")
    photos = args.photos or default_photos()
    rows = [
        (str(song), str(photo), i)
        for i, (song, photo) in zip(
            range(args.clips), itertools.cycle(itertools.product(songs, photos)), strict=False
        )
    ]
    manifest = work / "manifest.csv"
    pd.DataFrame(rows, columns=["audio", "image", "seed"]).to_csv(manifest, index=False)
    sets = [f"render.resolution={args.resolution}", f"align.resolution={args.resolution}"]
    sets += ["animate.model=cutout", "dataset.shard_max_clips=2"]
    sets += ["dataset.train_ratio=1", "dataset.val_ratio=0", "dataset.test_ratio=0"]
    base = ["--store", work / "store", "synth", "--manifest", manifest]
    base += [a for s in sets for a in ("--set", s)]
    lines = [
        f"{args.clips} clips of {args.seconds:g} s at {args.resolution} px, cutout animator, "
        f"{os.cpu_count()} cores"
    ]

    # 1. synth (stage work), then each export of its index from the store
    from tasks.dataset.task import export_dataset

    synth_s, summary = timed_cli([*base, "--out", work / "out"])
    done = summary["done"]
    lines.append(f"synth: {done} clips in {synth_s:.1f} s = {done / synth_s * 60:.1f} clips/min")
    dataset_sets = [s for s in sets if s.startswith("dataset.")]
    for fmt in ("webdataset", "tiktok"):
        start = time.perf_counter()
        added = export_dataset(summary["index"], str(work / "store"), [(fmt, str(work / fmt))],
                               dataset_sets)[fmt]["added"]  # fmt: skip
        seconds = time.perf_counter() - start
        lines.append(f"export {fmt}: {added} clips in {seconds:.1f} s = "
                     f"{added / seconds * 60:.1f} clips/min")  # fmt: skip
    shards = json.loads((work / "webdataset" / "shards.json").read_text())["shards"]
    size = sum(s["bytes"] for s in shards) / 1e6
    lines.append(f"shards: {len(shards)}, {size:.1f} MB ({size / done:.2f} MB/clip)")

    # 2. read speed over the shards (each worker decodes its own shards)
    rates = {}
    for workers in (1, 2):
        rates[workers], count = read_rate(work / "webdataset", workers, args.window)
        lines.append(f"read, {workers} worker(s): {count} windows of {args.window} frames, "
                     f"{rates[workers]:.1f} samples/s")  # fmt: skip
    lines.append(f"read 2 vs 1 workers: {rates[2] / rates[1]:.2f}x")

    # 3. one sample to look at
    strip = sample_strip(work / "webdataset", OUT / "dataset_sample.png")
    lines.append(f"sample strip: {strip}")
    sys.stdout.write("\n".join(lines) + f"\n(work files in {work})\n")


if __name__ == "__main__":
    main()
