"""`music2dance serve`: the local web app on the same store and cache as the CLI."""

from __future__ import annotations

import argparse


def cmd_serve(args: argparse.Namespace) -> int:
    from webapp.app import serve

    serve(args.store, host=args.host, port=args.port, overrides=args.set)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="local web app: upload music and a photo, watch the stages, download the dance",
        description="Serve the web app on HOST:PORT (127.0.0.1 by default: this machine only). "
        "Uploads and previews are kept under STORE/webapp/. Weight paths set with --set make "
        "their models selectable in the page (e.g. --set motion.checkpoint=edge.pt).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.KEY=VALUE",
        help="server-side param for every run, e.g. weight paths (repeatable)",
    )
    p.set_defaults(func=cmd_serve)
