"""`music2dance stage NAME`: materialize one stage (and any missing upstream) without Prefect.

This is the command `dvc.yaml` runs, one DVC stage per pipeline stage: DVC decides which stages
are stale from params and code, the store reuses whatever is already computed. The small JSON it
writes (stage, key, URI) is the DVC output, so a downstream DVC stage reruns only when the key of
its upstream changed; the arrays stay in the content-addressed store. It also lists the key of
every stage it needed and the store, so `music2dance eval` reads it as a run report.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from tasks.base import InputError


def handler(args: argparse.Namespace) -> int:
    from artifacts.materialize import materialize
    from artifacts.store import Store
    from flows.dag import make_plan, param_rules, stage_specs, validate_inputs, verify_reads
    from params import load_defaults, resolve_params

    defaults = load_defaults(Path(args.params)) if args.params else None
    params = resolve_params(param_rules(), args.set, defaults)
    store = Store(args.store)
    plan = {e.planned.name: e for e in make_plan(args.audio, args.image, params, store)}
    needed, todo = [], [args.name]
    while todo:  # the stage and its upstream closure, run in plan order
        name = todo.pop()
        needed.append(name)
        todo += [up for up in plan[name].planned.upstream if up not in needed]
    entries = [plan[name] for name in plan if name in needed]
    verify_reads(entries, store)
    validate_inputs(entries)
    if not all(entry.cached for entry in entries):
        store.check_writable()
    for entry in entries:
        materialize(stage_specs()[entry.planned.name], entry.planned, str(store.root))
    target = plan[args.name].planned
    record = {"stage": target.name, "key": target.key, "uri": store.uri(target.name, target.key)}
    record |= {"store": str(store.root)}
    record |= {"stages": [{"name": e.planned.name, "key": e.planned.key} for e in entries]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record | {"upstream": target.upstream}, indent=2) + "\n")
    if args.video:
        if target.name != "animate":
            raise InputError("--video is only for the animate stage")
        Path(args.video).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.path("animate", target.key) / "video.mp4", args.video)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from flows.dag import STAGE_ORDER

    p = subparsers.add_parser(
        "stage", help="materialize one stage and write its key as JSON (what dvc.yaml runs)"
    )
    p.add_argument("name", choices=STAGE_ORDER)
    p.add_argument("--audio", required=True, help="music file")
    p.add_argument("--image", required=True, help="photo of the person")
    p.add_argument("--out", required=True, help="JSON with the stage's key and URI")
    p.add_argument("--params", help="params YAML to read instead of the packaged defaults")
    p.add_argument("--video", help="animate only: also copy the final mp4 here")
    p.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE")
    p.set_defaults(func=handler)
