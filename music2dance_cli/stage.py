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
from pathlib import Path

from tasks.base import InputError


def handler(args: argparse.Namespace) -> int:
    from flows.execute import fetch_output, run_plan, run_stages_here
    from flows.plan import plan_run
    from params import load_defaults

    defaults = load_defaults(Path(args.params)) if args.params else None
    plan = plan_run(
        args.audio, args.image, args.set, args.store, defaults=defaults, target=args.name
    )
    report = run_plan(plan, runner=run_stages_here)  # DVC is the orchestrator here
    target = next(stage for stage in plan.stages if stage.name == args.name)
    uri = plan.store.uri(target.name, target.key)
    record = {"stage": target.name, "key": target.key, "uri": uri, "upstream": target.upstream}
    record |= {"store": plan.root, "stages": [{"name": s.name, "key": s.key} for s in plan.stages]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    if args.video:
        if target.name != "animate":
            raise InputError("--video is only for the animate stage")
        Path(args.video).parent.mkdir(parents=True, exist_ok=True)
        fetch_output(report, plan.store, Path(args.video))
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
