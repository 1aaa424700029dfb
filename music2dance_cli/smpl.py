"""`music2dance convert-smpl SRC OUT.npz`: an SMPL model file as a plain .npz, chumpy-free.

The official SMPL .pkl files hold chumpy objects; converting once gives a file that loads with
`numpy.load(allow_pickle=False)` and that `render.smpl_dir` can point at.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `convert-smpl` command to the main parser's subcommands."""
    parser = subparsers.add_parser(
        "convert-smpl", help="write an SMPL .pkl/.npz model as a plain .npz (no chumpy, no pickle)"
    )
    parser.add_argument(
        "src", help="SMPL model file, e.g. basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
    )
    parser.add_argument("out", help="output .npz, e.g. ~/smpl/SMPL_NEUTRAL.npz")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from tasks.render.smpl import convert_model  # torch + smplx: only when converting

    out = convert_model(args.src, args.out)
    sys.stdout.write(f"wrote {out}\n")
    return 0
