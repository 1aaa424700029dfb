"""Per-clip quality gates: a clip that misses one is flagged in the dataset index, never dropped.

A gate is `<metric>_max` or `<metric>_min` with a threshold (None disables it). A gate whose
metric is missing or NaN fails: an unmeasurable clip is flagged rather than passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tasks.base import Param

GATE_RULES = {
    "pfc_max": Param(float, min=0.0, nullable=True, help="highest PFC (x10^4) accepted"),
    "bas_min": Param(float, min=0.0, max=1.0, nullable=True, help="lowest beat alignment"),
    "identity_max": Param(float, min=0.0, nullable=True, help="highest mean face distance"),
    "foot_skating_max": Param(float, min=0.0, max=1.0, nullable=True, help="skating frames"),
    "coverage_min": Param(float, min=0.0, max=1.0, nullable=True, help="lowest body coverage"),
    "leftovers_max": Param(float, min=0.0, max=1.0, nullable=True, help="photo person left"),
    "fragments_max": Param(float, min=0.0, nullable=True, help="loose fragments per frame"),
    "fill_quality_min": Param(float, min=0.0, max=1.0, nullable=True, help="plate texture"),
    "background_change_max": Param(float, min=0.0, nullable=True, help="/255 between samples"),
}


def _fails(value: float | None, bound: str, threshold: float) -> bool:
    if value is None or math.isnan(value):
        return True
    return value > threshold if bound == "max" else value < threshold


def evaluate_gates(
    metrics: Mapping[str, float | None], gates: Mapping[str, float | None]
) -> list[str]:
    """Names of the failed gates, in `gates` order; `metrics` maps metric name -> value."""
    failed = []
    for name, threshold in gates.items():
        metric, _, bound = name.rpartition("_")
        if bound not in ("max", "min") or not metric:
            raise ValueError(f"gate {name!r} must end in _max or _min")
        if threshold is not None and _fails(metrics.get(metric), bound, threshold):
            failed.append(name)
    return failed
