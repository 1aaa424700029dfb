"""EDGE commands: `convert-edge` (checkpoint.pt -> pickle-free folder), `convert-aist`
(AIST++ -> training clips) and `train-motion`.

The converted folder (model.safetensors, normalizer.json, config.json) loads without any
unpickling and faster; `--set motion.checkpoint=FOLDER` accepts it wherever a checkpoint.pt is.
Its config.json also records what the weights cannot tell: the head count and the music-feature
recipe (`tasks/motion/edge/checkpoint.py`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tasks.base import InputError


def cmd_convert_edge(args: argparse.Namespace) -> int:
    from tasks.motion.edge.checkpoint import convert_checkpoint

    out = convert_checkpoint(
        args.checkpoint, args.out_dir, num_heads=args.num_heads, features=args.features
    )
    sys.stdout.write(f"wrote {out} (use --set motion.checkpoint={out})\n")
    return 0


def cmd_convert_aist(args: argparse.Namespace) -> int:
    from tasks.motion.edge.dataset import convert_aist

    written = convert_aist(args.root, args.out_dir, args.split, args.features, args.jukebox_dir)
    sys.stdout.write(
        f"wrote {len(written)} clips to {args.out_dir} "
        f"(train with: music2dance train-motion {args.out_dir} OUT)\n"
    )
    return 0


def cmd_train_motion(args: argparse.Namespace) -> int:
    from tasks.motion.edge.train import TrainConfig, initial_weights, load_clips, train

    out = Path(args.out_dir)
    try:
        motion, cond = load_clips(Path(args.data))
        weights = initial_weights(motion, cond, args.init, out, args.resume)
    except ValueError as err:
        raise InputError(str(err)) from err
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    losses = train(weights, motion, cond, config, out, resume=args.resume)
    last = f"{losses[-1]:.4f}" if losses else "n/a (already at --steps)"
    sys.stdout.write(
        f"trained to step {config.steps}, last loss {last}; EMA weights in {out / 'ema'} "
        f"(use --set motion.checkpoint={out / 'ema'})\n"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add `convert-edge`, `convert-aist` and `train-motion` to the music2dance CLI."""
    p = subparsers.add_parser(
        "convert-edge", help="EDGE checkpoint.pt -> safetensors + JSON normalizer (safe, fast)"
    )
    p.add_argument("checkpoint", help="the released EDGE checkpoint.pt")
    p.add_argument("out_dir", help="folder for model.safetensors, normalizer.json, config.json")
    p.add_argument("--num-heads", type=int,
                   help="attention heads it was trained with; official files do not record it "
                   "(default: the recorded count, else 8 = the released model)")  # fmt: skip
    p.add_argument("--features", choices=["jukebox", "edge", "song"],
                   help="music features it was trained on (default: recorded, else jukebox for "
                   "4800-d, edge = EDGE's own per-slice baseline features for 35-d)")  # fmt: skip
    p.set_defaults(func=cmd_convert_edge)

    a = subparsers.add_parser(
        "convert-aist", help="AIST++ motions + music -> .npz clips for train-motion"
    )
    a.add_argument("root", help="AIST++ folder: motions/*.pkl, wavs/*.wav[, splits/*.txt]")
    a.add_argument("out_dir", help="folder for <sequence>.npz (poses, trans, features)")
    a.add_argument("--split", choices=["train", "test", "all"], default="train",
                   help="EDGE's crossmodal split (needs splits/), or every motion")  # fmt: skip
    a.add_argument("--features", choices=["baseline", "jukebox"], default="baseline",
                   help="35-d baseline, or 4800-d Jukebox (to fine-tune the released checkpoint; "
                   "needs music2dance[jukebox])")  # fmt: skip
    a.add_argument("--jukebox-dir", default=os.environ.get("MUSIC2DANCE_JUKEBOX_DIR"),
                   help="folder of vqvae.pth.tar + prior_level_2.pth.tar "
                   "(default $MUSIC2DANCE_JUKEBOX_DIR)")  # fmt: skip
    a.set_defaults(func=cmd_convert_aist)

    t = subparsers.add_parser("train-motion", help="train or fine-tune EDGE on .npz dance clips")
    t.add_argument("data", help="folder of .npz clips (poses, trans, features at 30 fps, z-up)")
    t.add_argument("out_dir", help="folder for train_state.pt and the EMA weights (ema/)")
    t.add_argument("--init", help="fine-tune from this checkpoint.pt or convert-edge folder")
    t.add_argument("--resume", action="store_true", help="continue out_dir/train_state.pt")
    t.add_argument("--steps", type=int, default=1000, help="total optimiser steps")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=4e-4)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=cmd_train_motion)
