"""`music2dance train-animator`: fine-tune the report's face-attention adapter on TikTok data.

Everything of MagicAnimate stays frozen; only the face encoder and its added attentions learn.
The result, OUT/face_adapter.pt, plugs into the animate stage with
`--set animate.model=magicanimate --set animate.face_adapter=OUT/face_adapter.pt`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tasks.base import InputError

EPILOG = """data layout (TikTok dataset as DisCo / MagicAnimate prepare it):
  ROOT/<video>/images/0001.png ...       RGB frames
  ROOT/<video>/densepose/0001.png ...    DensePose renderings, same file names
  ROOT/<video>/faces.json                optional {"0001": [top, right, bottom, left]};
                                         without it faces are found with dlib (align stage)

examples:
  music2dance train-animator --weights pretrained_models/MagicAnimate --data TikTok/ --out runs/face
  music2dance train-animator ... --mixed-precision bf16 --gradient-checkpointing --steps 20000
  music2dance train-animator ... --resume runs/face/face_adapter.pt --steps 40000
"""


def handler(args: argparse.Namespace) -> int:
    import torch

    from tasks.animate.magicanimate.dataset import TikTokDataset
    from tasks.animate.magicanimate.face import FaceEncoder
    from tasks.animate.magicanimate.loading import load_pipeline, resolve_weights
    from tasks.animate.magicanimate.train import (
        FaceAdapterTrainer,
        FaceTrainConfig,
        train_face_adapter,
    )

    if args.steps < 1 or args.save_every < 1:
        raise InputError("--steps and --save-every must be at least 1")
    if args.resume and not Path(args.resume).is_file():
        raise InputError(f"--resume {args.resume}: file not found (a face_adapter.pt)")
    data = TikTokDataset(args.data, args.window_frames, args.resolution, args.seed)
    paths = resolve_weights(args.weights, args.sd15, args.vae)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    fresh = None
    if not args.resume:
        unet_config = json.loads((paths.sd15 / "unet" / "config.json").read_text())
        torch.manual_seed(args.seed)  # the new adapter's initial weights
        fresh = FaceEncoder(
            crop_size=args.face_crop,
            hidden_dim=args.face_hidden,
            cross_attention_dim=unet_config["cross_attention_dim"],
        )
    pipe = load_pipeline(
        paths,
        device=device,
        face_adapter=args.resume,
        face_encoder=fresh,
        reduced_levels=args.reduce_attention,  # a resumed adapter keeps its own
    )
    config = FaceTrainConfig(
        learning_rate=args.lr,
        mixed_precision=args.mixed_precision,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    trainer = FaceAdapterTrainer(pipe, config)
    if args.resume:
        trainer.resume(args.resume)
    with torch.no_grad():
        text = pipe.encode_prompt("")
    out = Path(args.out).expanduser()
    losses = train_face_adapter(
        trainer, data, text, steps=args.steps, out=out, save_every=args.save_every, seed=args.seed
    )
    last = f"{losses[-1]:.4f}" if losses else "n/a (already at --steps)"
    sys.stdout.write(
        f"trained to step {trainer.global_step}, last loss {last}; adapter in "
        f"{out / 'face_adapter.pt'} (use --set animate.face_adapter={out / 'face_adapter.pt'})\n"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add `train-animator` to the music2dance CLI."""
    p = subparsers.add_parser(
        "train-animator",
        help="fine-tune the face-attention adapter on TikTok-format videos",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--weights", required=True, help="MagicAnimate release folder (as animate.weights)"
    )
    p.add_argument("--sd15", help="SD 1.5 folder (default: stable-diffusion-v1-5 beside --weights)")
    p.add_argument("--vae", help="sd-vae-ft-mse folder (default: beside --weights)")
    p.add_argument("--data", required=True, help="TikTok-format root (layout below)")
    p.add_argument("--out", required=True, help="folder for face_adapter.pt (latest checkpoint)")
    p.add_argument("--steps", type=int, default=10_000, help="total optimiser steps")
    p.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate")
    p.add_argument("--window-frames", type=int, default=16, help="frames per training window")
    p.add_argument("--resolution", type=int, default=512, help="square training size (x64)")
    p.add_argument("--face-crop", type=int, default=128, help="face crop side before the VAE")
    p.add_argument("--face-hidden", type=int, default=512, help="face encoder width")
    p.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"], default="no")
    p.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute UNet activations"
    )
    p.add_argument(
        "--reduce-attention",
        type=int,
        default=0,
        metavar="LEVELS",
        help="the report's reduced model: drop motion and reference self-attention at the "
        "LEVELS finest UNet levels (0-3; inference applies the same from the checkpoint)",
    )
    p.add_argument("--resume", help="continue from a face_adapter.pt (weights, optimiser, step)")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, default=0, help="data order, timesteps and noise")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.set_defaults(func=handler)
