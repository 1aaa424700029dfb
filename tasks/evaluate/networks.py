"""Learned video metrics (LPIPS, FID-VID, FVD): they need network weights the user supplies.

No weights can be downloaded here, and a loader that cannot be checked against the published
numbers would produce numbers nobody can trust, so this version only validates the param: a
missing path is an InputError naming the param, a given path reports that the metric is not
available yet.
"""

from __future__ import annotations

from pathlib import Path

from tasks.base import InputError

NETWORK_METRICS = {
    "lpips": ("--lpips-weights", "LPIPS AlexNet/VGG backbone + linear heads"),
    "fid_vid": ("--fid-vid-weights", "pytorch-fid InceptionV3 (pt_inception-2015-12-05)"),
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
    if not path.is_file():
        raise InputError(f"{param} {path}: file not found (the {network} weights)")
    return path


def load_metric_network(metric: str, weights: str | Path | None) -> None:
    """Check the weights, then refuse: no loader for `metric` exists in this version yet."""
    path = require_weights(metric, weights)
    raise InputError(
        f"{metric} is not available yet: no verified loader for {path.name}; "
        "drop the weights option to skip it"
    )
