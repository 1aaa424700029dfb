"""`music2dance`: turn a music clip and one photo into a video of that person dancing.

Every stage output is cached in a content-addressed store, so a re-run recomputes only the stages
whose inputs, params or code changed. `music2dance plan` shows what would run and why.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artifacts.files import atomic_path
from flows.prefect_env import apply_prefect_settings
from music2dance_cli.errors import describe
from music2dance_cli.quiet import native_noise_filtered, quiet_loggers
from tasks.base import InputError

log = logging.getLogger("music2dance")

# Commands that live beside their feature; each module has `register(subparsers)`.
COMMAND_MODULES = ("animator", "edge", "evaluate", "library", "serve", "smpl", "stage", "synth")
# Commands that read or write the artifact store: each also takes --store after its name.
STORE_COMMANDS = ("run", "demo", "plan", "export", "cache", "stage", "synth", "eval", "serve")

EPILOG = """examples:
  music2dance demo                                   # synthesized music + a public-domain photo
  music2dance run --audio song.mp3 --image me.jpg --out dance.mp4
  music2dance run --audio song.mp3 --image me.jpg --out dance.mp4 --set motion.seed=7
  music2dance plan --audio song.mp3 --image me.jpg --set animate.crf=23
  music2dance cache ls | verify | gc
  music2dance synth --manifest clips.csv --out dataset/ [--runner thread|process|dask|ray]

params: every --set stage.key=value is listed with its default in params/defaults.yaml.
store:  --store DIR or $MUSIC2DANCE_STORE (default ~/.cache/music2dance)."""


def _prefect_logs(verbose: bool) -> None:
    """Prefect's own logs (task failures come with their whole traceback) only with -v: our
    error line says what failed. Set before Prefect is imported, and on its logger if it is."""
    level = "INFO" if verbose else "CRITICAL"
    os.environ["PREFECT_LOGGING_LEVEL"] = level
    if "prefect" in sys.modules:
        logging.getLogger("prefect").setLevel(level)


def default_store() -> str:
    return os.environ.get("MUSIC2DANCE_STORE", str(Path.home() / ".cache" / "music2dance"))


def _add_run_args(p: argparse.ArgumentParser, with_inputs: bool = True) -> None:
    if with_inputs:
        p.add_argument("--audio", required=True, help="music file (wav, mp3, flac, ogg, m4a ...)")
        p.add_argument(
            "--image",
            required=True,
            help="photo of a person, face visible; the output video is render.aspect (square or "
            "portrait 9:16) with align.resolution px on the long side; several people: "
            "align.person",
        )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.KEY=VALUE",
        help="override a param from params/defaults.yaml (repeatable)",
    )


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _summary(report: dict[str, Any]) -> None:
    _write(f"{'stage':<10} {'status':<7} {'seconds':>8}  key")
    for s in report["stages"]:
        status = "cached" if s["cached"] else "ran"
        _write(f"{s['name']:<10} {status:<7} {s['seconds']:>8.2f}  {s['key'][:12]}")
    _write(f"output: {report['output']}")


def check_output(path: str | Path, flag: str = "--out") -> Path:
    """An output path is a regular file or a new name in a folder we can write: checked before
    any work so a bad path fails in a second, not after the whole pipeline."""
    out = Path(path).expanduser().absolute()
    if out.exists() and not out.is_file():
        kind = "a folder" if out.is_dir() else "not a regular file"
        raise InputError(f"{flag} {out} is {kind}: give a file path such as {out / 'dance.mp4'}")
    folder = next(p for p in out.parents if p.exists())
    if not folder.is_dir():
        raise InputError(f"{flag} {out}: {folder} is not a folder (choose another path)")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{flag} {out}: cannot write in {folder} (choose another folder)")
    return out


def _plan(args: argparse.Namespace, **options: Any) -> Any:
    """The one plan of this command (flows.plan.plan_run) from its --audio, --image, --set."""
    from flows.plan import plan_run

    return plan_run(args.audio, args.image, args.set, args.store, **options)


def _deliver(fetch: Callable[[Path], Any], out: Path) -> None:
    """`fetch(tmp)` writes the output beside `out`; it is moved only onto a regular file or a
    new name (checked again after the run), and no temp file stays behind on any failure."""
    with atomic_path(out) as tmp:
        fetch(tmp)
        check_output(out)


def cmd_run(args: argparse.Namespace) -> int:
    out = check_output(args.out)
    if args.report:
        check_output(args.report, "--report")
    from flows.execute import fetch_output, run_plan

    plan = _plan(args)
    _log_plan(plan)
    report = run_plan(plan)
    _deliver(lambda tmp: fetch_output(report, plan.store, tmp), out)
    report["output"] = str(out.resolve())
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2))
    _summary(report)
    return 0


def _log_plan(plan: Any) -> None:
    to_run = [e.planned.name for e in plan.entries if not e.cached]
    cached = len(plan.entries) - len(to_run)
    log.info("plan: %d cached, to run: %s", cached, ", ".join(to_run) or "nothing")


def write_demo_inputs(folder: Path, seconds: float = 10.0) -> tuple[Path, Path]:
    """Synthesized music and scikit-image's public-domain astronaut photo: no downloads."""
    from PIL import Image
    from skimage import data

    from tasks.audio.synth import synth_music, write_wav

    folder.mkdir(parents=True, exist_ok=True)
    audio, image = folder / "demo_music.wav", folder / "astronaut.png"
    write_wav(audio, synth_music(seconds=seconds, bpm=112, seed=0, sample_rate=44100), 44100)
    Image.fromarray(data.astronaut()).save(image)
    return audio, image


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo's inputs in a local store's folder, or a temp folder beside a bucket's."""
    remote = "://" in str(args.store)
    folder = Path(tempfile.gettempdir()) / "music2dance-demo" if remote else Path(args.store)
    audio, image = write_demo_inputs(folder / "inputs", seconds=args.seconds)
    args.audio, args.image = str(audio), str(image)
    return cmd_run(args)


def write_demo_manifest(audio: Path, image: Path, rows: int) -> Path:
    """manifest.csv beside the demo inputs, for `synth` and the shipped `nightly` deployment:
    row i dances the photo (even i) or its mirror image (odd i) with motion seed i // 2, so each
    pair of rows shares its audio, motion, render and densepose artifacts."""
    from PIL import Image, ImageOps

    mirrored = image.with_name(f"{image.stem}_mirrored.png")
    ImageOps.mirror(Image.open(image)).save(mirrored)
    photos = (image.name, mirrored.name)
    lines = ["audio,image,seed", *(f"{audio.name},{photos[i % 2]},{i // 2}" for i in range(rows))]
    manifest = image.with_name("manifest.csv")
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def cmd_demo_inputs(args: argparse.Namespace) -> int:
    audio, image = write_demo_inputs(Path(args.folder), seconds=args.seconds)
    for path in (audio, image, write_demo_manifest(audio, image, args.rows)):
        _write(str(path))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    for entry in _plan(args, check=False).entries:
        status = "cached" if entry.cached else "run"
        why = "" if entry.cached else "  <- " + "; ".join(entry.why)
        _write(f"{entry.planned.name:<10} {status:<7} {entry.planned.key[:12]}{why}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from artifacts.remote import open_store

    store = open_store(args.store)
    if args.action == "ls":
        for stage, key, path in store.records(args.stage):
            try:
                lineage = store.lineage(stage, key)
            except (OSError, ValueError, KeyError):  # damaged: listed, `cache verify` evicts it
                lineage = {"created": "unreadable lineage"}
            mib = store.size_bytes(path) / 2**20
            _write(f"{stage:<10} {key[:12]}  {mib:8.2f} MiB  {lineage.get('created', '?')}")
    elif args.action == "verify":
        problems = store.verify(evict=False)
        for p in problems:  # listed before evicting: a read-only store still shows the damage
            _write(f"{p.stage:<10} {p.key[:12]}  {p.reason}")
        for p in [] if args.no_evict else problems:
            store.evict_folder(p.stage, p.key)
        evicted = "" if args.no_evict or not problems else " (evicted)"
        _write(f"{len(problems)} damaged artifact(s){evicted}")
        return 1 if problems else 0
    else:
        removed = store.gc(older_than_days=args.older_than)
        _write(f"removed {len(removed)} item(s)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """The key comes from the run's JSON report, else from planning the run's inputs."""
    from artifacts.remote import open_store
    from flows.export import check_export, export_artifact

    check_export(args.stage, args.format)
    if args.report:
        stages = json.loads(Path(args.report).read_text())["stages"]
        key = next(s["key"] for s in stages if s["name"] == args.stage)
        store, params = open_store(args.store), None
    elif args.audio and args.image:
        plan = _plan(args, check=False, explain=False)
        key, store, params = plan.keys()[args.stage], plan.store, plan.params
    else:
        raise InputError("export needs --report R.json, or --audio and --image of the run")
    if args.format == "mp4" and params is None:
        from flows.dag import param_rules
        from params import resolve_params

        params = resolve_params(param_rules(), args.set)
    crf = params["animate"]["crf"] if params else None
    audio = Path(args.audio) if args.audio else None
    export_artifact(store, args.stage, key, args.format, Path(args.out), audio, crf)
    _write(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="music2dance",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--store", default=default_store(), help="artifact store root")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Prefect's logs too")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="music + photo -> dance video (cached stages are reused)")
    _add_run_args(run)
    run.add_argument("--out", required=True, help="output mp4 (H.264 + AAC, music muxed)")
    run.add_argument("--report", help="write a JSON report of every stage (key, cached, seconds)")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="render the demo: synthesized music + astronaut photo")
    _add_run_args(demo, with_inputs=False)
    demo.add_argument("--out", default="demo.mp4", help="output mp4 (default demo.mp4)")
    demo.add_argument("--seconds", type=float, default=10.0, help="length of the demo music")
    demo.add_argument("--report", help="write a JSON run report")
    demo.set_defaults(func=cmd_demo)

    inputs = sub.add_parser(
        "demo-inputs", help="write the demo's music, photo and a manifest of clips into a folder"
    )
    inputs.add_argument("folder")
    inputs.add_argument("--seconds", type=float, default=10.0, help="length of the music")
    inputs.add_argument("--rows", type=int, default=4, help="clips in manifest.csv (default 4)")
    inputs.set_defaults(func=cmd_demo_inputs)

    plan = sub.add_parser("plan", help="which stages would run and why (runs nothing)")
    _add_run_args(plan)
    plan.set_defaults(func=cmd_plan)

    export = sub.add_parser(
        "export",
        help="write a run's motion as EDGE pkl, npz or BVH, or its driving video (render or "
        "densepose) as mp4",
    )
    export.add_argument("--stage", choices=["motion", "render", "densepose"], default="motion")
    export.add_argument("--format", choices=["pkl", "npz", "bvh", "mp4"], required=True)
    export.add_argument("--out", required=True)
    export.add_argument("--report", help="JSON report of the run (from run --report)")
    export.add_argument("--audio", help="or: the run's music (mp4: muxed into the video) ...")
    export.add_argument("--image", help="... and photo, with the same --set overrides")
    _add_run_args(export, with_inputs=False)
    export.set_defaults(func=cmd_export)

    cache = sub.add_parser("cache", help="list, verify or clean the artifact store")
    cache.add_argument("action", choices=["ls", "verify", "gc"])
    cache.add_argument("--stage", help="ls: only this stage")
    cache.add_argument("--no-evict", action="store_true", help="verify: report only")
    cache.add_argument("--older-than", type=float, help="gc: also drop artifacts unused N days")
    cache.set_defaults(func=cmd_cache)
    for module in COMMAND_MODULES:
        importlib.import_module(f"music2dance_cli.{module}").register(sub)
    for name in STORE_COMMANDS:  # SUPPRESS: given before the command, that value stays
        sub.choices[name].add_argument(
            "--store", default=argparse.SUPPRESS, help="artifact store root"
        )
    return parser


def _first_line(args: argparse.Namespace) -> None:
    """Say what started before the heavy imports (numba, librosa, torch) of planning."""
    paths = (getattr(args, "audio", None), getattr(args, "image", None))
    inputs = [Path(p).name for p in paths if p]
    if args.command in STORE_COMMANDS:
        what = f" {' + '.join(inputs)}" if inputs else ""
        log.info("%s%s (store %s)", args.command, what, args.store)


def main(argv: list[str] | None = None) -> int:
    apply_prefect_settings(os.environ)
    # face_recognition_models imports pkg_resources; its deprecation notice is not ours to fix.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("music2dance").setLevel(logging.INFO)
    _prefect_logs(args.verbose)
    _first_line(args)
    try:
        if args.verbose:
            return args.func(args)
        quiet_loggers()
        with native_noise_filtered():
            return args.func(args)
    except Exception as err:  # noqa: BLE001 - every failure ends in one line
        if args.verbose:
            traceback.print_exc()
        code, line = describe(err)
        sys.stderr.write(f"error: {line}\n")
        return code
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted (finished stages stay cached; run again to resume)\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
