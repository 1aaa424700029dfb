"""FVD (Unterthiner et al. 2018) with the I3D Kinetics-400 detector most PyTorch work uses:
StyleGAN-V's `i3d_torchscript.pt`, a TorchScript port of the TF-Hub I3D.

Clips of 16 consecutive frames; each is resized (shorter side 224, bilinear) and centre-cropped
to 224 x 224, scaled to [-1, 1] and passed with rescale=False, resize=False,
return_features=True (the 400 logits before softmax), as in StyleGAN-V and
common_metrics_on_video_quality. FVD is the Frechet distance between the feature sets of the
generated and the ground-truth clips.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from tasks.base import InputError

CLIP_FRAMES = 16
SIZE = 224


def load_i3d(path: str | Path) -> torch.jit.ScriptModule:
    """The TorchScript detector (a TorchScript archive: no Python pickle is run)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"--fvd-weights {path}: file not found (StyleGAN-V i3d_torchscript.pt)")
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as err:
        raise InputError(
            f"--fvd-weights {path.name}: not a TorchScript I3D ({type(err).__name__}); "
            "pass StyleGAN-V's i3d_torchscript.pt"
        ) from err


def clips(frames: Iterable[np.ndarray], length: int = CLIP_FRAMES) -> Iterator[np.ndarray]:
    """Consecutive non-overlapping (length, H, W, 3) clips; a shorter tail is dropped."""
    frames = iter(frames)
    while len(chunk := list(islice(frames, length))) == length:
        yield np.stack(chunk)


def preprocess(clip: np.ndarray) -> Tensor:
    """(T, H, W, 3) uint8 -> (3, T, 224, 224) in [-1, 1]: shorter side to 224, centre crop."""
    video = torch.from_numpy(clip).permute(3, 0, 1, 2).float() / 255  # C, T, H, W
    h, w = video.shape[-2:]
    scale = SIZE / min(h, w)
    size = (SIZE, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), SIZE)
    video = F.interpolate(video, size=size, mode="bilinear", align_corners=False)
    top, left = (video.shape[-2] - SIZE) // 2, (video.shape[-1] - SIZE) // 2
    return (video[..., top : top + SIZE, left : left + SIZE] - 0.5) * 2


def features(
    detector: torch.jit.ScriptModule, frames: Iterable[np.ndarray], batch: int = 4
) -> np.ndarray:
    """(n_clips, d) detector features of a video's 16-frame clips, streamed."""
    out = []
    stream = (preprocess(c) for c in clips(frames))
    with torch.inference_mode():
        while chunk := list(islice(stream, batch)):
            x = torch.stack(chunk)
            out.append(detector(x, rescale=False, resize=False, return_features=True).numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 0))


def fvd(generated: np.ndarray, truth: np.ndarray) -> float | None:
    """Frechet distance of two clip-feature sets; None when either has fewer than 2 clips."""
    from tasks.evaluate.motion import frechet_distance

    if len(generated) < 2 or len(truth) < 2:
        return None
    return frechet_distance(generated, truth)
