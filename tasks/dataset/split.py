"""Deterministic train/val/test assignment of a clip by a hash of its key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from tasks.base import InputError

SPLITS = ("train", "val", "test")


def check_ratios(ratios: Mapping[str, float]) -> None:
    total = sum(ratios[name] for name in SPLITS)
    if abs(total - 1.0) > 1e-6:
        raise InputError(
            f"dataset ratios train/val/test sum to {total:g}, not 1: "
            "set dataset.train_ratio, dataset.val_ratio and dataset.test_ratio to add up to 1"
        )


def split_of(key: str, ratios: Mapping[str, float]) -> str:
    """The split of a clip: a point in [0, 1) from SHA-256 of its key, cut at the cumulative
    ratios. It depends on the key alone, so reruns, row order and other clips never move it."""
    point = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    edge = 0.0
    for name in SPLITS:
        edge += ratios[name]
        if point < edge:
            return name
    return SPLITS[-1]  # rounding of the ratios' sum
