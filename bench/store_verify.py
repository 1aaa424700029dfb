"""What checking artifacts where they are read costs on a 30 s clip: a run hashes the cached
artifacts it reads (the output, and the upstreams of each stage it computes) against their
MANIFEST before using them.

    python bench/store_verify.py [--songs A.ogg ...] [--photo P.jpg] [--seconds 30]

One fresh `music2dance run` fills a store; then, per stage, the checksum time of each artifact
(warm page cache, as right after a run) is set beside what recomputing from that stage costs:
re-running stage S (a param of S changed) reads S's upstreams, so their verification is the
overhead of that re-run. A fully cached re-run reads, and so verifies, only the output video.
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

ROOT = Path(__file__).resolve().parents[1]
MUSIC = ROOT.parent / "shared" / "music"
PHOTOS = ROOT.parent / "shared" / "photos"


def _inputs(work: Path, songs: list[str], photo: str | None, seconds: float) -> tuple[Path, Path]:
    """The first `seconds` of the first song (else synthesized music) and the photo."""
    from PIL import Image
    from skimage import data

    from tasks.audio.decode import load_audio
    from tasks.audio.synth import synth_music, write_wav

    rate = 44100
    audio = work / "clip.wav"
    if songs:
        samples = load_audio(songs[0], rate, max_seconds=600.0)[: int(seconds * rate)]
    else:
        samples = synth_music(seconds=seconds, bpm=112, seed=0, sample_rate=rate)
    write_wav(audio, samples, rate)
    if photo is None:
        photo = work / "astronaut.png"
        Image.fromarray(data.astronaut()).save(photo)
    return audio, Path(photo)


def _median_seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    default_songs = sorted(str(p) for p in MUSIC.glob("*.ogg"))[:1]
    default_photo = next((str(p) for p in sorted(PHOTOS.glob("*.png"))), None)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", nargs="*", default=default_songs, help="first song is used")
    parser.add_argument("--photo", default=default_photo, help="reference photo")
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from artifacts.remote import open_store
    from flows.dag import OUTPUT, stage_specs

    work = Path(tempfile.mkdtemp(prefix="m2d-verify-"))
    audio, photo = _inputs(work, args.songs, args.photo, args.seconds)
    env = dict(os.environ, DO_NOT_TRACK="1", PREFECT_HOME=str(work / "prefect"))
    argv = [sys.executable, "-m", "music2dance_cli.main", "--store", str(work / "store"), "run"]
    argv += ["--audio", str(audio), "--image", str(photo), "--out", str(work / "o.mp4")]
    argv += ["--report", str(work / "r.json")]

    def run() -> float:
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        return time.perf_counter() - start

    first = run()
    cached = run()
    report = json.loads((work / "r.json").read_text())
    store = open_store(work / "store")
    keys = {s["name"]: s["key"] for s in report["stages"]}
    # each stage's compute time from its lineage (the cached re-run's report says 0)
    computed = {name: store.lineage(name, key)["seconds"] for name, key in keys.items()}
    verify = {
        name: _median_seconds(lambda n=name, k=key: store.verify_one(n, k))
        for name, key in keys.items()
    }
    size = {name: store.size_bytes(store.path(name, key)) / 2**20 for name, key in keys.items()}

    out = sys.stdout.write
    source = Path(args.songs[0]).name if args.songs else "synthesized music"
    out(f"{args.seconds:g} s clip of {source}, photo {photo.name}; store on {work}\n")
    out(f"first run {first:.1f} s wall, fully cached re-run {cached:.1f} s wall\n\n")
    row = "{:<10} {:>8.1f} {:>9.3f} {:>7.0f} {:>10.2f}\n"
    out(f"{'stage':<10} {'MiB':>8} {'verify s':>9} {'MiB/s':>7} {'compute s':>10}\n")
    for name in keys:
        rate = size[name] / verify[name] if verify[name] else float("inf")
        out(row.format(name, size[name], verify[name], rate, computed[name]))
    total_size, total_verify = sum(size.values()), sum(verify.values())
    out(
        row.format(
            "all", total_size, total_verify, total_size / total_verify, sum(computed.values())
        )
    )
    out("\n")
    out("re-run after a param of STAGE changed: verifying the upstreams it reads\n")
    out(f"{'stage':<10} {'verify s':>9} {'recompute s':>12} {'overhead':>9}\n")
    specs = stage_specs()
    for name in keys:
        affected = [name]  # the stage and everything downstream of it recompute
        for n in keys:
            if any(up in affected for up in specs[n].upstream) and n not in affected:
                affected.append(n)
        read = {up for n in affected for up in specs[n].upstream if up not in affected}
        cost = sum(verify[up] for up in read)
        recompute = sum(computed[n] for n in affected)
        out(f"{name:<10} {cost:9.3f} {recompute:12.2f} {cost / recompute:9.1%}\n")
    output = _median_seconds(lambda: store.verify_one(OUTPUT[0], keys[OUTPUT[0]], OUTPUT[1:]))
    out(
        f"fully cached re-run: verifies the output {OUTPUT[1]} only, {output:.3f} s of "
        f"{cached:.1f} s wall ({output / cached:.1%})\n"
    )


if __name__ == "__main__":
    main()
