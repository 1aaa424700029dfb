"""`ShardDataset`: a PyTorch `IterableDataset` streaming exported shards (local or any fsspec URL)
as frame windows, decoded on the fly.

Each item is one window of `window` frames taken every `stride` frames from one clip, as in
MagicAnimate / Champ training (a random start per window; the reference is the clip's photo):

    key        str              the clip's animate key
    split      str
    start      int              first frame of the window in the clip
    fps        float            frames per second of every per-frame field
    reference  uint8 (3, H, W)  the aligned reference photo
    driving    uint8 (L, 3, H, W)  DensePose frames that drove the animator
    frames     uint8 (L, 3, H, W') output frames (W' = 2W for the preview animator)
    parts      uint8 (L, H, W)  exact DensePose part indices (0 background, 1-24)
    poses      float32 (L, 24, 3)  SMPL axis-angle;  trans float32 (L, 3) metres
    joints     float32 (L, 24, 3)  FK joints, metres; joints2d float32 (L, 24, 2) output pixels
    music      float32 (L, 35)  EDGE baseline audio features
    meta       str              the sample's JSON (params, metrics, gates)

L = window. Work is split by shard across ranks x DataLoader workers; when there are fewer shards
than consumers, every consumer reads every shard and keeps its own share of the samples, so none
idles and none repeats a sample.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import fsspec
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from tasks.dataset.media import decode_npz, decode_png, decode_video
from tasks.dataset.shards import iter_samples, read_shard_list
from tasks.dataset.split import SPLITS


def consumer() -> tuple[int, int]:
    """(this consumer's id, number of consumers) over distributed ranks x DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


def window_starts(num_frames: int, span: int, count: int, seed: tuple[int, ...]) -> list[int]:
    """`count` random starts of a `span`-frame window in a clip, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return sorted(int(s) for s in rng.integers(0, num_frames - span + 1, size=count))


class ShardDataset(IterableDataset):
    """Frame windows from the shards of one split under `root` (local path or fsspec URL)."""

    def __init__(
        self,
        root: str,
        split: str = "train",
        *,
        window: int,
        stride: int = 1,
        windows_per_clip: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split {split!r}: use one of {', '.join(SPLITS)}")
        if window < 1 or stride < 1 or windows_per_clip < 1:
            raise ValueError("window, stride and windows_per_clip must be at least 1")
        self.root = str(root).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.shards = [
            s for s in read_shard_list(self.root, **self.storage_options) if s["split"] == split
        ]
        self.split, self.window, self.stride = split, window, stride
        self.windows_per_clip, self.shuffle, self.seed = windows_per_clip, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """A new shard order and new windows per epoch (with shuffle); call before iterating."""
        self.epoch = epoch

    @property
    def span(self) -> int:
        return (self.window - 1) * self.stride + 1

    def __len__(self) -> int:
        """Windows per epoch over all consumers."""
        return sum(len(s["keys"]) for s in self.shards) * self.windows_per_clip

    def _my_shards(self) -> tuple[list[dict[str, Any]], int, int]:
        """(shards this consumer reads, sample modulus, sample residue)."""
        shards = list(self.shards)
        if self.shuffle:
            np.random.default_rng((self.seed, self.epoch)).shuffle(shards)
        me, consumers = consumer()
        if len(shards) >= consumers:
            return shards[me::consumers], 1, 0
        return shards, consumers, me

    def __iter__(self) -> Iterator[dict[str, Any]]:
        shards, modulus, residue = self._my_shards()
        index = 0
        for shard in shards:
            with fsspec.open(f"{self.root}/{shard['url']}", "rb", **self.storage_options) as f:
                for key, sample in iter_samples(f):
                    index += 1
                    if (index - 1) % modulus == residue:
                        yield from self.windows(key, sample)

    def windows(self, key: str, sample: Mapping[str, bytes]) -> Iterator[dict[str, Any]]:
        """The windows of one decoded sample ({ext: bytes} as in a shard)."""
        meta = json.loads(sample["json"])
        num_frames = meta["num_frames"]
        if num_frames < self.span:
            return  # too short for this window, as MagicAnimate's loader skips such videos
        seed = (self.seed, self.epoch, zlib.crc32(key.encode()))
        starts = window_starts(num_frames, self.span, self.windows_per_clip, seed)
        first, last = starts[0], starts[-1] + self.span
        driving = decode_video(sample["driving.mp4"], first, last - first)
        frames = decode_video(sample["output.mp4"], first, last - first)
        motion, music = decode_npz(sample["motion.npz"]), decode_npz(sample["music.npz"])
        parts = decode_npz(sample["parts.npz"])["parts"]
        reference = torch.from_numpy(decode_png(sample["reference.png"])).permute(2, 0, 1)
        for start in starts:
            picks = np.arange(start, start + self.span, self.stride)
            local = picks - first
            yield {
                "key": key,
                "split": meta["split"],
                "start": start,
                "fps": float(meta["fps"]),
                "reference": reference,
                "driving": _chw(driving[local]),
                "frames": _chw(frames[local]),
                "parts": torch.from_numpy(parts[picks]),
                **{
                    name: torch.from_numpy(motion[name][picks].astype(np.float32))
                    for name in ("poses", "trans", "joints", "joints2d")
                },
                "music": torch.from_numpy(music["features"][picks].astype(np.float32)),
                "meta": sample["json"].decode(),
            }


def _chw(frames: np.ndarray) -> torch.Tensor:
    """(L, H, W, 3) uint8 -> (L, 3, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
