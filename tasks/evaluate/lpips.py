"""LPIPS v0.1 (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features"), pure torch.

The user supplies both published weight files in one folder:
- the backbone as torchvision saves it: `alexnet-owt-7be5be79.pth` or `vgg16-397923af.pth`
  (keys `features.N.weight|bias`; the classifier is ignored);
- the linear heads from the `lpips` package: `weights/v0.1/alex.pth` or `vgg.pth`
  (keys `linK.model.1.weight`).

Matches `lpips.LPIPS(net=..., version="0.1")`: input scaling layer, features after the ReLUs
that end its five slices, unit-normalised channels, squared difference, 1x1 heads, spatial mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from tasks.base import InputError


@dataclass(frozen=True)
class Backbone:
    """torchvision `features` as (kind, out channels | None); taps = indices of tapped ReLUs."""

    layers: tuple[tuple[str, int | None, int, int, int], ...]  # kind, channels, kernel, stride, pad
    taps: tuple[int, ...]
    channels: tuple[int, ...]


def _vgg16() -> Backbone:
    layers, taps = [], []
    for block, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        if block:
            layers.append(("pool", None, 2, 2, 0))
        for _ in range(convs):
            layers += [("conv", width, 3, 1, 1), ("relu", None, 0, 0, 0)]
        taps.append(len(layers) - 1)
    return Backbone(tuple(layers), tuple(taps), (64, 128, 256, 512, 512))


BACKBONES = {
    "alex": Backbone(
        (
            ("conv", 64, 11, 4, 2),
            ("relu", None, 0, 0, 0),
            ("pool", None, 3, 2, 0),
            ("conv", 192, 5, 1, 2),
            ("relu", None, 0, 0, 0),
            ("pool", None, 3, 2, 0),
            ("conv", 384, 3, 1, 1),
            ("relu", None, 0, 0, 0),
            ("conv", 256, 3, 1, 1),
            ("relu", None, 0, 0, 0),
            ("conv", 256, 3, 1, 1),
            ("relu", None, 0, 0, 0),
        ),  # fmt: skip
        taps=(1, 4, 7, 9, 11),
        channels=(64, 192, 384, 256, 256),
    ),
    "vgg": _vgg16(),
}
FIRST_CONV = {(64, 3, 11, 11): "alex", (64, 3, 3, 3): "vgg"}  # backbone told by its first kernel


class LPIPS(nn.Module):
    """Distance (n,) between image batches (n, 3, H, W) in [-1, 1]."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        spec = BACKBONES[net]
        self.net, self.taps = net, spec.taps
        # lpips.ScalingLayer: ImageNet statistics expressed for inputs in [-1, 1]
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        layers: list[nn.Module] = []
        channels = 3
        for kind, width, kernel, stride, pad in spec.layers:
            if kind == "conv":
                layers.append(nn.Conv2d(channels, width, kernel, stride, pad))
                channels = width
            else:
                layers.append(nn.ReLU() if kind == "relu" else nn.MaxPool2d(kernel, stride))
        self.features = nn.Sequential(*layers)  # torchvision's indices, so its keys load as-is
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in spec.channels)

    def tapped(self, x: Tensor) -> list[Tensor]:
        out = []
        x = (x - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        total = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
        for fa, fb, lin in zip(self.tapped(a), self.tapped(b), self.lins, strict=True):
            diff = (_unit(fa) - _unit(fb)) ** 2
            total = total + lin(diff).mean(dim=(1, 2, 3))
        return total


def _unit(x: Tensor, eps: float = 1e-10) -> Tensor:
    """lpips.normalize_tensor: each position's channel vector scaled to unit length."""
    return x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


def _read(path: Path) -> dict[str, Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a foreign or truncated file: say which and why
        raise InputError(f"LPIPS weights {path.name}: unreadable ({type(err).__name__})") from err
    if not isinstance(state, dict):
        raise InputError(f"LPIPS weights {path.name}: not a state_dict")
    return state


def load_lpips(folder: str | Path) -> LPIPS:
    """LPIPS from a folder holding torchvision's backbone .pth and lpips' heads .pth."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(
            f"--lpips-weights {folder}: pass a folder with torchvision's alexnet (or vgg16) .pth "
            "and lpips' alex.pth (or vgg.pth)"
        )
    backbone, heads = {}, {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in {".pth", ".pt", ".safetensors"}:
            continue
        state = _read(path)
        if "features.0.weight" in state:
            backbone = {k: v for k, v in state.items() if k.startswith("features.")}
        elif "lin0.model.1.weight" in state:
            heads = {f"lins.{k[3]}.weight": v for k, v in state.items() if k.endswith(".weight")}
    if not backbone or not heads:
        missing = "backbone (features.*)" if not backbone else "heads (lin0..lin4)"
        raise InputError(f"--lpips-weights {folder}: no LPIPS {missing} file found there")
    net = FIRST_CONV.get(tuple(backbone["features.0.weight"].shape))
    if net is None:
        raise InputError(f"--lpips-weights {folder}: backbone is neither AlexNet nor VGG16")
    model = LPIPS(net)
    expected = {k for k in model.state_dict() if k not in ("shift", "scale")}
    given = {**backbone, **heads}
    if set(given) != expected or any(
        given[k].shape != model.state_dict()[k].shape for k in expected
    ):
        raise InputError(f"--lpips-weights {folder}: backbone and heads do not fit LPIPS-{net}")
    model.load_state_dict(given, strict=False)
    return model.eval()


def frames_to_unit(frames: np.ndarray) -> Tensor:
    """(n, H, W, 3) uint8 -> (n, 3, H, W) float in [-1, 1] (lpips' `normalize=True`)."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def lpips_per_frame(
    model: LPIPS, generated: Iterable[np.ndarray], truth: Iterable[np.ndarray], batch: int = 8
) -> np.ndarray:
    """LPIPS (n,) of frame pairs, streamed in batches; truth frames match generated sizes."""
    from tasks.evaluate.video import match_size

    pairs = zip(generated, truth, strict=False)
    scores: list[np.ndarray] = []
    with torch.inference_mode():
        while chunk := list(islice(pairs, batch)):
            gen = np.stack([g for g, _ in chunk])
            ref = np.stack([match_size(t, g.shape) for g, t in chunk])
            scores.append(model(frames_to_unit(gen), frames_to_unit(ref)).numpy())
    return np.concatenate(scores) if scores else np.zeros(0)
