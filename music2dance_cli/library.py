"""`music2dance build-library SRC... --out PATH`: a dance motion library from your own mocap.

Each motion is retargeted to SMPL's 24 joints (joint names matched for CMU ASF/AMC, CMU or Mixamo
BVH and SMPL-named BVH), resampled to 30 fps, faced front and put on the ground. The motion
stage uses the library with `--set motion.library=PATH`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  music2dance build-library mocap/*.bvh --out my_dances.npz --style house
  music2dance build-library 60_01.amc 60_02.amc --asf 60.asf --fps 60 --out salsa.npz --style salsa
  music2dance build-library aist/motions/ --out aist.npz --style breaking
  music2dance build-library more/ --out my_dances.npz --style waacking --append
  music2dance build-library 60_*.amc 61_*.amc --fps 60 --partners 60:61 --out salsa.npz
  music2dance run --audio song.mp3 --image me.jpg --out dance.mp4 --set motion.library=my_dances.npz

formats:
  .amc  CMU/Acclaim motion; its skeleton is <subject>.asf beside it (or --asf). AMC files store no
        frame rate: pass --fps (CMU lists 120 for most subjects, 60 for some).
  .bvh  BVH, y up, any units (the root height is scaled by leg length); Frame Time is used.
        Joints are found by name: SMPL names (pelvis, left_hip ...), CMU (lfemur ...), or
        Mixamo/CMU-BVH style (Hips, LeftUpLeg, LeftLeg, LeftFoot, LeftArm, LeftForeArm ...;
        a "mixamorig:" prefix is fine); three or more spine joints between hips and neck.
  .pkl  AIST++ motion (smpl_poses, smpl_trans, smpl_scaling at 60 fps) or an EDGE result / a
        `music2dance export --format pkl` (smpl_poses, smpl_trans at 30 fps), read without running
        code from the pickle; .npz with the same arrays works too.
couple dances:
  --partners A:B says that the files A_<take> and B_<take> among SRC are the two dancers of one
  take, captured together (same frames, same space). Each dancer's clip then records when a hand
  holds the partner (within 15 cm of the partner's hands or torso), and synthesis replaces a held
  arm by the dancer's free arm mirrored, instead of a frozen reach for a partner who is not there.
Clips are sorted by name in the file, so the same inputs always give the same bytes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `build-library` command to the main parser's subcommands."""
    parser = subparsers.add_parser(
        "build-library",
        help="retarget mocap (ASF/AMC, BVH, AIST++/EDGE pkl) into a dance motion library (.npz)",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("src", nargs="+", help="motion files or folders of them")
    parser.add_argument("--out", required=True, help="library file to write (.npz)")
    parser.add_argument("--style", default="dance", help="style label of these clips")
    parser.add_argument("--asf", type=Path, help="skeleton for every .amc (default: beside it)")
    parser.add_argument("--fps", type=float, default=120.0, help=".amc frame rate (default 120)")
    parser.add_argument("--prefix", default="", help="prefix of clip names, e.g. cmu/")
    parser.add_argument(
        "--append", action="store_true", help="keep the clips in --out (a same name is replaced)"
    )
    parser.add_argument(
        "--partners",
        action="append",
        default=[],
        metavar="A:B",
        help="subjects A and B dance together: A_<take> and B_<take> are one couple's take",
    )
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from tasks.base import InputError
    from tasks.motion.library.build import build_library

    pairs = [tuple(p.split(":")) for p in args.partners]
    if any(len(p) != 2 or not all(p) for p in pairs):
        raise InputError(
            f"--partners {' '.join(args.partners)}: write each pair as A:B, e.g. 60:61"
        )
    clips = build_library(
        args.src, args.out, args.style, args.asf, args.fps, args.prefix, args.append, pairs
    )
    minutes = sum(c.seconds for c in clips) / 60
    sys.stdout.write(f"wrote {args.out}: {len(clips)} clips, {minutes:.1f} min\n")
    return 0
