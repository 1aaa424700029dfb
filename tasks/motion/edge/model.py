"""EDGE's `DanceDecoder` (Tseng, Castellon, Liu, "EDGE: Editable Dance Generation", CVPR 2023).

A transformer that denoises a 5 s window of 151-d motion (contacts, root, 24 x 6D) given per-frame
music features and a diffusion timestep. Module and parameter names follow the official
Stanford-TML/EDGE code, so the released `ema_state_dict` (249 entries) loads with `strict=True`.

Two numerically equivalent execution paths:
- parity: the official order of operations (`nn.MultiheadAttention`, two guided passes, music
  encoder run on every call), so golden values match within float rounding;
- fast: conditional and unconditional passes in one batch; everything that depends only on the
  music (encoder, pooled FiLM vector, cross-attention keys/values of the 150 music tokens)
  computed once per song (`music_cache`); `F.scaled_dot_product_attention` on the same weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class EdgeConfig:
    """Architecture; defaults are the released checkpoint's (EDGE.py)."""

    nfeats: int = 151  # 4 contacts + 3 root position + 24 joints x 6D
    seq_len: int = 150  # frames per window (5 s at 30 fps)
    latent_dim: int = 512  # transformer width
    ff_size: int = 1024  # feed-forward width
    num_layers: int = 8  # decoder layers
    num_heads: int = 8  # attention heads (not recoverable from weights)
    dropout: float = 0.1  # training only
    cond_feature_dim: int = 4800  # Jukebox layer 66; 35 for the baseline features
    cond_layers: int = 2  # music encoder layers (fixed in the official code)

    def __post_init__(self) -> None:
        if self.num_heads < 1 or self.latent_dim % self.num_heads:
            raise ValueError(
                f"num_heads={self.num_heads} does not divide the width {self.latent_dim}; "
                "pass the head count the checkpoint was trained with (--num-heads N)"
            )

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor], num_heads: int = 8) -> EdgeConfig:
        """Infer widths, depth and conditioning width (4800 or 35) from an official state_dict."""
        required = ("null_cond_embed", "input_projection.weight", "cond_projection.weight")
        missing = [k for k in required if k not in state]
        if missing:
            raise KeyError(f"not an EDGE DanceDecoder state_dict: missing {missing}")
        layers = {
            int(m.group(1))
            for k in state
            if (m := re.match(r"seqTransDecoder\.stack\.(\d+)\.", k)) is not None
        }
        cond_layers = {
            int(m.group(1)) for k in state if (m := re.match(r"cond_encoder\.(\d+)\.", k))
        }
        _, seq_len, latent = state["null_cond_embed"].shape
        return cls(
            nfeats=state["input_projection.weight"].shape[1],
            seq_len=seq_len,
            latent_dim=latent,
            ff_size=state["cond_encoder.0.linear1.weight"].shape[0],
            num_layers=len(layers),
            num_heads=num_heads,
            cond_feature_dim=state["cond_projection.weight"].shape[1],
            cond_layers=len(cond_layers),
        )


class RotaryEmbedding(nn.Module):
    """Rotary position embedding over the whole width, adjacent pairs rotated (RoFormer eq. 34)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("freqs", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))
        self._cache: dict[tuple, tuple[Tensor, Tensor]] = {}

    def _cos_sin(self, n: int, offset: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """cos and sin (n, d) of position * freq, each pair's angle repeated twice."""
        key = (n, offset, like.dtype, like.device, self.freqs.data_ptr())
        if not torch.is_grad_enabled() and key in self._cache:
            return self._cache[key]
        positions = torch.arange(offset, offset + n, device=like.device).to(self.freqs.dtype)
        angles = (positions[:, None] * self.freqs).repeat_interleave(2, dim=-1).to(like)
        cos_sin = (angles.cos(), angles.sin())
        if not torch.is_grad_enabled():
            self._cache[key] = cos_sin
        return cos_sin

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """Rotate (..., n, d) by the angle position * freq of each pair; positions from offset."""
        cos, sin = self._cos_sin(x.shape[-2], offset, x)
        pairs = x.unflatten(-1, (-1, 2))
        rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return x * cos + rotated * sin


class SinusoidalPosEmb(nn.Module):
    """Timestep embedding: sin half then cos half (DDPM, Ho et al. 2020, appendix B)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, t: Tensor) -> Tensor:
        half = self.dim // 2
        scale = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device) * -scale)
        angles = t[:, None] * freqs[None, :]  # (b, half)
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class DenseFiLM(nn.Module):
    """Feature-wise linear modulation from the time vector: (b, d) -> scale, shift (b, 1, d)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Mish(), nn.Linear(dim, dim * 2))

    def forward(self, t: Tensor) -> tuple[Tensor, Tensor]:
        scale, shift = self.block(t)[:, None, :].chunk(2, dim=-1)
        return scale, shift


def project_heads(mha: nn.MultiheadAttention, x: Tensor, which: int) -> Tensor:
    """In-projection `which` (0 q, 1 k, 2 v) of x (b, n, d), split into heads (b, h, n, d/h)."""
    d = mha.embed_dim
    w = mha.in_proj_weight[which * d : (which + 1) * d]
    b = mha.in_proj_bias[which * d : (which + 1) * d]
    return F.linear(x, w, b).unflatten(-1, (mha.num_heads, -1)).transpose(1, 2)


def attend(mha: nn.MultiheadAttention, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """SDPA over projected heads (b, h, n, d/h), then the out-projection -> (b, n, d)."""
    out = F.scaled_dot_product_attention(q, k, v)
    return mha.out_proj(out.transpose(1, 2).flatten(-2))


def attention(mha: nn.MultiheadAttention, q: Tensor, k: Tensor, v: Tensor, fast: bool) -> Tensor:
    """Multi-head attention (b, n, d); `fast` runs the same weights through SDPA."""
    if not fast:
        return mha(q, k, v, need_weights=False)[0]
    return attend(mha, project_heads(mha, q, 0), project_heads(mha, k, 1), project_heads(mha, v, 2))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer with rotary queries/keys (music encoder)."""

    def __init__(self, config: EdgeConfig, rotary: RotaryEmbedding) -> None:
        super().__init__()
        d = config.latent_dim
        self.self_attn = nn.MultiheadAttention(
            d, config.num_heads, dropout=config.dropout, batch_first=True
        )
        self.linear1 = nn.Linear(d, config.ff_size)
        self.linear2 = nn.Linear(config.ff_size, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)
        self.rotary = rotary

    def forward(self, x: Tensor, fast: bool = False) -> Tensor:
        h = self.norm1(x)
        qk = self.rotary(h)
        x = x + self.dropout(attention(self.self_attn, qk, qk, h, fast))
        h = self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(x)))))
        return x + self.dropout(h)


class DecoderLayer(nn.Module):
    """Self-attention, cross-attention to music+time tokens, feed-forward; each FiLM-modulated."""

    def __init__(self, config: EdgeConfig, rotary: RotaryEmbedding) -> None:
        super().__init__()
        d, heads = config.latent_dim, config.num_heads
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=config.dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(
            d, heads, dropout=config.dropout, batch_first=True
        )
        self.linear1 = nn.Linear(d, config.ff_size)
        self.linear2 = nn.Linear(config.ff_size, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.film1 = DenseFiLM(d)
        self.film2 = DenseFiLM(d)
        self.film3 = DenseFiLM(d)
        self.dropout = nn.Dropout(config.dropout)
        self.rotary = rotary

    def music_kv(self, music: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-attention keys and values (b, h, 150, d/h) of normalised music tokens."""
        mha = self.multihead_attn
        return project_heads(mha, self.rotary(music), 1), project_heads(mha, music, 2)

    def cross_attention(
        self, h: Tensor, memory: Tensor, fast: bool, music_kv: tuple[Tensor, Tensor] | None
    ) -> Tensor:
        """Attend to memory (b, 152, d); with music_kv, memory is only the 2 time tokens."""
        mha = self.multihead_attn
        if music_kv is None:
            return attention(mha, self.rotary(h), self.rotary(memory), memory, fast)
        k_music, v_music = music_kv
        k_time = project_heads(mha, self.rotary(memory, offset=k_music.shape[-2]), 1)
        k = torch.cat((k_music, k_time), dim=-2)
        v = torch.cat((v_music, project_heads(mha, memory, 2)), dim=-2)
        return attend(mha, project_heads(mha, self.rotary(h), 0), k, v)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        t: Tensor,
        fast: bool = False,
        music_kv: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """x (b, n, d), memory (b, m, d), t (b, d): x + (1 + scale) * block(LN(x)) + shift."""
        h = self.norm1(x)
        qk = self.rotary(h)
        h = self.dropout(attention(self.self_attn, qk, qk, h, fast))
        scale, shift = self.film1(t)
        x = x + ((scale + 1) * h + shift)
        h = self.cross_attention(self.norm2(x), memory, fast, music_kv)
        scale, shift = self.film2(t)
        x = x + ((scale + 1) * self.dropout(h) + shift)
        h = self.linear2(self.dropout(F.gelu(self.linear1(self.norm3(x)))))
        scale, shift = self.film3(t)
        return x + ((scale + 1) * self.dropout(h) + shift)


class DecoderLayerStack(nn.Module):
    """Holds the decoder layers under the official `seqTransDecoder.stack.N` names."""

    def __init__(self, layers: list[DecoderLayer]) -> None:
        super().__init__()
        self.stack = nn.ModuleList(layers)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        t: Tensor,
        fast: bool = False,
        music_kv: list[tuple[Tensor, Tensor]] | None = None,
    ) -> Tensor:
        for i, layer in enumerate(self.stack):
            x = layer(x, memory, t, fast, None if music_kv is None else music_kv[i])
        return x


class DanceDecoder(nn.Module):
    """Predicts the clean motion x0 (b, 150, 151) from noisy motion, music and timestep."""

    def __init__(self, config: EdgeConfig = EdgeConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.latent_dim
        # 1. positions: one rotary module shared by every attention layer
        self.rotary = RotaryEmbedding(d)
        # 2. timestep path
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(d), nn.Linear(d, d * 4), nn.Mish())
        self.to_time_cond = nn.Sequential(nn.Linear(d * 4, d))
        self.to_time_tokens = nn.Sequential(nn.Linear(d * 4, d * 2))  # 2 tokens of width d
        # 3. learned stand-ins for dropped music (classifier-free guidance)
        self.null_cond_embed = nn.Parameter(torch.randn(1, config.seq_len, d))
        self.null_cond_hidden = nn.Parameter(torch.randn(1, d))
        self.norm_cond = nn.LayerNorm(d)
        # 4. projections and music encoder
        self.input_projection = nn.Linear(config.nfeats, d)
        self.cond_encoder = nn.Sequential(
            *[EncoderLayer(config, self.rotary) for _ in range(config.cond_layers)]
        )
        self.cond_projection = nn.Linear(config.cond_feature_dim, d)
        self.non_attn_cond_projection = nn.Sequential(
            nn.LayerNorm(d), nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d)
        )
        # 5. decoder and output
        self.seqTransDecoder = DecoderLayerStack(
            [DecoderLayer(config, self.rotary) for _ in range(config.num_layers)]
        )
        self.final_layer = nn.Linear(d, config.nfeats)

    def encode_music(self, cond: Tensor, fast: bool = False) -> Tensor:
        """Music features (b, 150, C) -> encoded tokens (b, 150, d); independent of x and t."""
        tokens = self.cond_projection(cond)
        for layer in self.cond_encoder:
            tokens = layer(tokens, fast)
        return tokens

    def denoise(self, x: Tensor, tokens: Tensor, times: Tensor, keep: Tensor) -> Tensor:
        """x (b, 150, 151), encoded music (b, 150, d), times (b,), keep (b,) bool -> x0."""
        # 1. music: dropped rows use the learned null tokens / hidden vector
        tokens = torch.where(keep[:, None, None], tokens, self.null_cond_embed.to(tokens.dtype))
        cond_hidden = self.non_attn_cond_projection(tokens.mean(dim=-2))  # (b, d)
        # 2. time vector (FiLM) and 2 time tokens (cross-attention)
        t_hidden = self.time_mlp(times)  # (b, 4d)
        t = self.to_time_cond(t_hidden)
        t_tokens = self.to_time_tokens(t_hidden).unflatten(-1, (2, -1))  # (b, 2, d)
        t = t + torch.where(keep[:, None], cond_hidden, self.null_cond_hidden.to(t.dtype))
        memory = self.norm_cond(torch.cat((tokens, t_tokens), dim=-2))  # (b, 152, d)
        # 3. decoder
        h = self.seqTransDecoder(self.input_projection(x), memory, t)
        return self.final_layer(h)

    def forward(
        self, x: Tensor, cond: Tensor, times: Tensor, cond_drop_prob: float = 0.0
    ) -> Tensor:
        """Official signature: drop the music of each row with probability `cond_drop_prob`."""
        b = x.shape[0]
        if cond_drop_prob in (0.0, 1.0):
            keep = torch.full((b,), cond_drop_prob == 0.0, dtype=torch.bool, device=x.device)
        else:
            keep = torch.rand(b, device=x.device) < 1 - cond_drop_prob
        return self.denoise(x, self.encode_music(cond), times, keep)

    def guided_forward(self, x: Tensor, cond: Tensor, times: Tensor, weight: float) -> Tensor:
        """Classifier-free guidance, official order: unconditional pass, then conditional."""
        uncond = self.forward(x, cond, times, cond_drop_prob=1.0)
        conditioned = self.forward(x, cond, times, cond_drop_prob=0.0)
        return uncond + (conditioned - uncond) * weight

    def music_cache(self, cond: Tensor) -> MusicCache:
        """Everything music-dependent for [unconditional rows; conditional rows] (2b rows).

        The music tokens after dropout masking, their pooled FiLM vector and their
        cross-attention keys/values do not depend on x or t: compute them once per song.
        """
        b = cond.shape[0]
        tokens = self.encode_music(cond, fast=True).repeat(2, 1, 1)
        keep = torch.arange(2 * b, device=cond.device) >= b
        tokens = torch.where(keep[:, None, None], tokens, self.null_cond_embed.to(tokens.dtype))
        hidden = self.non_attn_cond_projection(tokens.mean(dim=-2))
        hidden = torch.where(keep[:, None], hidden, self.null_cond_hidden.to(hidden.dtype))
        music = self.norm_cond(tokens)  # LayerNorm is per token: same as in the 152-token memory
        kv = [layer.music_kv(music) for layer in self.seqTransDecoder.stack]
        return MusicCache(hidden, kv)

    def denoise_cached(self, x: Tensor, cache: MusicCache, times: Tensor) -> Tensor:
        """`denoise` with the music part taken from `cache` (rows aligned with x)."""
        t_hidden = self.time_mlp(times)
        t = self.to_time_cond(t_hidden) + cache.hidden
        memory = self.norm_cond(self.to_time_tokens(t_hidden).unflatten(-1, (2, -1)))
        h = self.seqTransDecoder(self.input_projection(x), memory, t, True, cache.kv)
        return self.final_layer(h)

    def guided_forward_fast(
        self, x: Tensor, cache: MusicCache, times: Tensor, weight: float
    ) -> Tensor:
        """Same guidance as `guided_forward`, both passes in one batch, music from `cache`."""
        b = x.shape[0]
        if weight == 0.0:  # unconditional rows only
            return self.denoise_cached(x, cache.rows(slice(0, b)), times)
        out = self.denoise_cached(x.repeat(2, 1, 1), cache, times.repeat(2))
        uncond, conditioned = out[:b], out[b:]
        return uncond + (conditioned - uncond) * weight


@dataclass(frozen=True)
class MusicCache:
    """Per-song constants of the fast path: FiLM music vector (2b, d), per-layer K/V."""

    hidden: Tensor
    kv: list[tuple[Tensor, Tensor]]

    def rows(self, index: slice) -> MusicCache:
        return MusicCache(self.hidden[index], [(k[index], v[index]) for k, v in self.kv])


class StateDictMismatch(KeyError):
    """The state_dict does not fit the architecture: lists every missing, extra or resized key."""


def strip_wrapper_prefix(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the `module.` prefix that multi-GPU training (accelerate/DDP) adds to every key."""
    if state and all(k.startswith("module.") for k in state):
        return {k.removeprefix("module."): v for k, v in state.items()}
    return dict(state)


def check_state_dict(model: nn.Module, state: Mapping[str, Tensor]) -> None:
    """Raise StateDictMismatch naming missing/unexpected keys and shape mismatches."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    resized = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {expected[k]}"
        for k in sorted(set(expected) & set(state))
        if tuple(state[k].shape) != expected[k]
    ]
    if missing or unexpected or resized:
        problems = []
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if resized:
            problems.append(f"shape mismatches {resized}")
        raise StateDictMismatch("EDGE state_dict does not fit: " + "; ".join(problems))


def load_state_dict_strict(model: nn.Module, state: Mapping[str, Tensor]) -> None:
    """Strict load with a readable error (nanoGPT `from_pretrained` style)."""
    state = strip_wrapper_prefix(state)
    check_state_dict(model, state)
    model.load_state_dict(state, strict=True, assign=next(model.parameters()).is_meta)


def build_from_state_dict(state: Mapping[str, Tensor], num_heads: int = 8) -> DanceDecoder:
    """A DanceDecoder in eval mode, sized from and loaded with `state`."""
    state = strip_wrapper_prefix(state)
    with torch.device("meta"):
        model = DanceDecoder(EdgeConfig.from_state_dict(state, num_heads=num_heads))
    load_state_dict_strict(model, {k: v.float() for k, v in state.items()})
    return model.eval()
