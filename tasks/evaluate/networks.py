"""Learned video metrics: each needs network weights the user supplies as local files.

- LPIPS: a folder with torchvision's AlexNet/VGG16 .pth and lpips' linear heads (`lpips.py`);
- FVD: StyleGAN-V's TorchScript I3D `i3d_torchscript.pt` (`fvd.py`);
- FID-VID: DisCo's 3D-ResNet-50 Kinetics `resnet-50-kinetics.pth` (`resnet3d.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.base import InputError

NETWORK_METRICS = {
    "lpips": ("--lpips-weights", "torchvision AlexNet/VGG16 .pth + lpips alex.pth/vgg.pth folder"),
    "fid_vid": ("--fid-vid-weights", "3D-ResNet-50 Kinetics (resnet-50-kinetics.pth)"),
    "fvd": ("--fvd-weights", "I3D Kinetics-400 (StyleGAN-V i3d_torchscript.pt)"),
}


def require_weights(metric: str, weights: str | Path | None) -> Path:
    """The checked weights path for `metric`; raises InputError naming the param otherwise."""
    if metric not in NETWORK_METRICS:
        raise InputError(f"unknown network metric {metric!r} (known: {', '.join(NETWORK_METRICS)})")
    param, network = NETWORK_METRICS[metric]
    if weights is None:
        raise InputError(f"{metric} needs {param}: the path to the {network} weights")
    path = Path(weights).expanduser()
    if not path.exists():
        raise InputError(f"{param} {path}: not found (the {network} weights)")
    return path


def load_metric_network(metric: str, weights: str | Path | None) -> Any:
    """The loaded network for `metric` (LPIPS, the I3D detector or the 3D ResNet-50)."""
    path = require_weights(metric, weights)
    if metric == "lpips":
        from tasks.evaluate.lpips import load_lpips

        return load_lpips(path)
    if metric == "fvd":
        from tasks.evaluate.fvd import load_i3d

        return load_i3d(path)
    from tasks.evaluate.resnet3d import load_resnet3d

    return load_resnet3d(path)
