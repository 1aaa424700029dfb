"""Load EDGE weights safely: the official `checkpoint.pt` or our converted folder.

The official checkpoint pickles its normalizer as instances of the repository's classes
`dataset.preprocess.Normalizer` and `dataset.scaler.MinMaxScaler`. We never run a general
unpickler on it: `torch.load(weights_only=True)` (torch's restricted unpickler) is given two inert
stand-in classes registered under exactly those paths, so tensors, plain containers and those two
names load, and any other global (e.g. `os.system`) is refused. The converted form
(`convert_checkpoint`: safetensors + JSON) needs no unpickling at all.

Two facts are not in the weights, so the converted config.json records them:
- `num_heads`: official checkpoints do not store the head count. We assume 8, the released
  model's; a checkpoint trained with another count must be converted with `--num-heads N`, or it
  would load (the shapes do not depend on it) and sample wrongly.
- `features`, the music-feature recipe the checkpoint was trained on: `jukebox` (4800-d), `edge`
  (EDGE's own 35-d baseline features per 5 s slice, `tasks/audio/edge_features.py`: what an
  official 35-d checkpoint was trained on) or `song` (the audio stage's whole-song 35-d features,
  what our `train-motion` uses).
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tasks.base import InputError
from tasks.motion.edge.jukebox import DIM as JUKEBOX_DIM
from tasks.motion.edge.model import (
    DanceDecoder,
    StateDictMismatch,
    build_from_state_dict,
    strip_wrapper_prefix,
)

WEIGHTS_FILE = "model.safetensors"
NORMALIZER_FILE = "normalizer.json"
CONFIG_FILE = "config.json"
RELEASED_NUM_HEADS = 8  # the released checkpoint's; official files do not record it
FEATURE_RECIPES = ("jukebox", "edge", "song")

log = logging.getLogger(__name__)


class CheckpointError(InputError):
    """A checkpoint that is missing, truncated, foreign or unsafe; the message names the fix."""


@dataclass(frozen=True)
class MinMaxNormalizer:
    """Per-channel min-max scaling of the 151-d motion to [-1, 1] (official `Normalizer`)."""

    scale: np.ndarray  # (151,) float32
    min: np.ndarray  # (151,) float32

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised (..., 151) -> [-1, 1]: clip(x * scale + min)."""
        return np.clip(x * self.scale + self.min, -1.0, 1.0)

    def unnormalize(self, x: np.ndarray) -> np.ndarray:
        """[-1, 1] (..., 151) -> unnormalised: (clip(x, -1, 1) - min) / scale."""
        return (np.clip(x, -1.0, 1.0) - self.min) / self.scale

    def to_json(self) -> dict[str, list[float]]:
        return {"scale": self.scale.tolist(), "min": self.min.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MinMaxNormalizer:
        return cls(np.asarray(data["scale"], np.float32), np.asarray(data["min"], np.float32))


@dataclass(frozen=True)
class EdgeWeights:
    """Everything inference needs: the network (eval mode, CPU) and its normalizer."""

    model: DanceDecoder
    normalizer: MinMaxNormalizer
    features: str | None = None  # its music-feature recipe (FEATURE_RECIPES); None: ours

    def __post_init__(self) -> None:
        if self.features is None:  # what our train-motion uses at this input width
            wide = self.model.config.cond_feature_dim == JUKEBOX_DIM
            object.__setattr__(self, "features", "jukebox" if wide else "song")


def _stand_in(module: str, name: str) -> type:
    """An empty class whose pickle path is `module.name`; unpickled state lands in `__dict__`."""
    return type(name, (), {"__module__": module, "__qualname__": name})


_OFFICIAL_NORMALIZER = _stand_in("dataset.preprocess", "Normalizer")
_OFFICIAL_SCALER = _stand_in("dataset.scaler", "MinMaxScaler")


def _normalizer_from_official(obj: Any) -> MinMaxNormalizer:
    if isinstance(obj, dict) and {"scale", "min"} <= set(obj):  # written by our `train`
        return MinMaxNormalizer(obj["scale"].float().numpy(), obj["min"].float().numpy())
    scaler = getattr(obj, "scaler", None)
    if not isinstance(obj, _OFFICIAL_NORMALIZER) or not isinstance(scaler, _OFFICIAL_SCALER):
        raise CheckpointError(
            "checkpoint 'normalizer' is not an EDGE dataset.preprocess.Normalizer; "
            "use the checkpoint.pt released with EDGE or a convert-edge folder"
        )
    as_np = {k: torch.as_tensor(getattr(scaler, k)).float().numpy() for k in ("scale_", "min_")}
    return MinMaxNormalizer(as_np["scale_"], as_np["min_"])


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    first_line = (str(err).splitlines() or [type(err).__name__])[0][:200]
    return CheckpointError(
        f"{path} is not a readable EDGE checkpoint (truncated or not a torch file: {first_line}); "
        "download checkpoint.pt again"
    )


def read_official_checkpoint(
    path: Path,
) -> tuple[dict[str, torch.Tensor], MinMaxNormalizer, dict[str, Any]]:
    """`ema_state_dict`, normalizer and recorded config of a checkpoint.pt, no general unpickling.

    Official files carry no config ({}); our `train` adds a `config` dict.
    """
    if not path.is_file():
        raise CheckpointError(f"EDGE checkpoint {path} does not exist; pass motion.checkpoint=PATH")
    try:
        with torch.serialization.safe_globals([_OFFICIAL_NORMALIZER, _OFFICIAL_SCALER]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found is None:
            raise _unreadable(path, err) from err
        raise CheckpointError(
            f"refused to load {path}: it references {found.group(1)}, which is neither a tensor "
            "nor EDGE's normalizer; it may run code when unpickled, so it is not loaded. Use the "
            "checkpoint.pt released with EDGE or a convert-edge folder"
        ) from err
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError) as err:
        raise _unreadable(path, err) from err
    if not isinstance(data, dict) or "ema_state_dict" not in data or "normalizer" not in data:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(
            f"{path} is a torch file but not an EDGE checkpoint (found {keys}; expected "
            "'ema_state_dict' and 'normalizer')"
        )
    normalizer = _normalizer_from_official(data["normalizer"])
    return strip_wrapper_prefix(data["ema_state_dict"]), normalizer, dict(data.get("config", {}))


def _read_converted(
    folder: Path,
) -> tuple[dict[str, torch.Tensor], MinMaxNormalizer, dict[str, Any]]:
    try:
        state = load_file(folder / WEIGHTS_FILE)
        normalizer = MinMaxNormalizer.from_json(json.loads((folder / NORMALIZER_FILE).read_text()))
        config_path = folder / CONFIG_FILE
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    except (OSError, SafetensorError, json.JSONDecodeError, KeyError) as err:
        raise CheckpointError(
            f"{folder} is not a complete convert-edge folder ({err}); it needs {WEIGHTS_FILE} "
            f"and {NORMALIZER_FILE}: run `music2dance convert-edge checkpoint.pt {folder}` again"
        ) from err
    return state, normalizer, config


def _num_heads(path: Path, recorded: dict[str, Any], override: int | None) -> int:
    if override is not None:
        return override
    if "num_heads" in recorded:
        return int(recorded["num_heads"])
    log.info(
        "%s does not record its attention head count (official EDGE checkpoints never do); "
        "assuming %d, the released model's. For another count convert it with "
        "`music2dance convert-edge --num-heads N`",
        path,
        RELEASED_NUM_HEADS,
    )
    return RELEASED_NUM_HEADS


def _features(path: Path, recorded: dict[str, Any], override: str | None, cond_dim: int) -> str:
    """The feature recipe: given, recorded, or jukebox / edge (official file) / song (ours)."""
    if cond_dim == JUKEBOX_DIM:
        recipe = override or recorded.get("features", "jukebox")
    else:
        recipe = override or recorded.get("features", "song" if recorded else "edge")
    if recipe not in FEATURE_RECIPES or (recipe == "jukebox") != (cond_dim == JUKEBOX_DIM):
        raise CheckpointError(
            f"{path}: feature recipe {recipe!r} does not fit its {cond_dim}-d music input "
            f"(jukebox is 4800-d; edge and song are 35-d)"
        )
    return recipe


def load_edge(
    path: str | Path, *, num_heads: int | None = None, features: str | None = None
) -> EdgeWeights:
    """Load an official checkpoint.pt or a convert-edge folder (or its model.safetensors);
    `num_heads` / `features` override what the file records (see the module docstring)."""
    path = Path(path).expanduser()
    if path.suffix == ".safetensors":
        path = path.parent
    if path.is_dir():
        state, normalizer, recorded = _read_converted(path)
    else:
        state, normalizer, recorded = read_official_checkpoint(path)
    heads = _num_heads(path, recorded, num_heads)
    try:
        model = build_from_state_dict(state, num_heads=heads)
    except (StateDictMismatch, KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: {err}") from err
    if normalizer.scale.shape != (model.config.nfeats,):
        raise CheckpointError(
            f"{path}: normalizer has {normalizer.scale.shape} channels, model {model.config.nfeats}"
        )
    recipe = _features(path, recorded, features, model.config.cond_feature_dim)
    return EdgeWeights(model, normalizer, recipe)


def convert_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    num_heads: int | None = None,
    features: str | None = None,
) -> Path:
    """Official checkpoint.pt -> folder of model.safetensors + normalizer.json + config.json
    (the config records the head count and the feature recipe)."""
    return save_converted(load_edge(checkpoint, num_heads=num_heads, features=features), out_dir)


def save_converted(weights: EdgeWeights, out_dir: str | Path) -> Path:
    """Write the safe format (no pickle) that `load_edge` reads fastest; returns the folder."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in weights.model.state_dict().items()}
    save_file(state, out / WEIGHTS_FILE, metadata={"format": "pt", "model": "EDGE DanceDecoder"})
    (out / NORMALIZER_FILE).write_text(json.dumps(weights.normalizer.to_json()))
    config = asdict(weights.model.config) | {"features": weights.features}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return out
