"""The report's face-attention encoder: identity tokens from the reference face for the denoiser.

A crop of the reference face (the align stage's face box) is encoded by the frozen VAE (the
"VAE head"), patchified and projected to tokens. Every spatial transformer block of the denoiser
gets an added attention beside its text cross-attention: queries from the block's own `to_q`,
keys/values from the face tokens through new projections initialised from the text ones
(as StableAnimator initialises its ID attention), and an output projection initialised to zero,
so an untrained adapter leaves MagicAnimate's output bit-for-bit unchanged. Like the reference
attention, it acts on the conditional guidance half only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class FaceEncoder(ModelMixin, ConfigMixin):
    """Face-crop latent (b, 4, s, s) -> tokens (b, (s/patch)^2, cross_attention_dim)."""

    @register_to_config
    def __init__(
        self,
        crop_size: int = 128,  # face crop side in pixels before the VAE (latent side = crop/8)
        latent_channels: int = 4,
        patch_size: int = 2,  # latent pixels per token side: 128 px -> 16x16 latent -> 64 tokens
        hidden_dim: int = 512,
        cross_attention_dim: int = 768,  # SD 1.5 text width, so projections can start from text's
    ) -> None:
        super().__init__()
        side = crop_size // 8 // patch_size
        self.proj_in = nn.Conv2d(latent_channels, hidden_dim, patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, side * side, hidden_dim))
        self.norm = nn.LayerNorm(hidden_dim)
        self.proj_out = nn.Linear(hidden_dim, cross_attention_dim)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        x = self.proj_in(latents).flatten(2).transpose(1, 2)  # (b, tokens, hidden)
        return self.proj_out(self.norm(x + self.pos_embed))


class FaceState:
    """Face tokens (1, n, d) for the current clip and the unconditional row count."""

    def __init__(self) -> None:
        self.tokens: torch.Tensor | None = None
        self.uncond_rows = 0


class FaceAttnProcessor(nn.Module):
    """`attn2` processor: text cross-attention plus a zero-initialised face attention."""

    def __init__(self, attn: Attention, state: FaceState) -> None:
        super().__init__()
        self.state = state
        self.base = AttnProcessor2_0()
        self.to_k = nn.Linear(attn.to_k.in_features, attn.to_k.out_features, bias=False)
        self.to_v = nn.Linear(attn.to_v.in_features, attn.to_v.out_features, bias=False)
        self.to_k.load_state_dict({"weight": attn.to_k.weight.detach().clone()})
        self.to_v.load_state_dict({"weight": attn.to_v.weight.detach().clone()})
        self.to_out = nn.Linear(attn.to_v.out_features, attn.to_out[0].out_features)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs: object,
    ) -> torch.Tensor:
        out = self.base(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        tokens = self.state.tokens
        if tokens is None:
            return out
        u = self.state.uncond_rows
        h = hidden_states[u:]
        b, heads = h.shape[0], attn.heads
        tokens = tokens.to(h.dtype).expand(b, -1, -1)
        # (b, n, heads*d) -> (b, heads, n, d)
        q = attn.to_q(h).unflatten(-1, (heads, -1)).transpose(1, 2)
        k = self.to_k(tokens).unflatten(-1, (heads, -1)).transpose(1, 2)
        v = self.to_v(tokens).unflatten(-1, (heads, -1)).transpose(1, 2)
        face = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        face = self.to_out(face)
        return torch.cat([out[:u], out[u:] + face])


def spatial_block_names(unet: nn.Module) -> list[str]:
    """All spatial transformer blocks (down, mid, up); motion modules excluded."""
    return [
        name
        for name, module in unet.named_modules()
        if isinstance(module, BasicTransformerBlock) and ".attentions." in name
    ]


class FaceAttention(nn.Module):
    """The face adapter's trainable parts: the encoder and one processor per spatial block."""

    def __init__(self, unet: nn.Module, encoder: FaceEncoder) -> None:
        super().__init__()
        self.state = FaceState()
        self.encoder = encoder
        self.processors = nn.ModuleDict()
        for name in spatial_block_names(unet):
            attn2 = unet.get_submodule(name).attn2
            processor = FaceAttnProcessor(attn2, self.state)
            attn2.set_processor(processor)
            self.processors[name.replace(".", "__")] = processor

    def set_tokens(self, tokens: torch.Tensor | None) -> None:
        self.state.tokens = tokens
