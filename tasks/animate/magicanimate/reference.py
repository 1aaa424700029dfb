"""Reference attention: the appearance encoder's features read by the denoiser's self-attention.

MagicAnimate's appearance encoder is a plain SD UNet fed the clean reference latent at the current
timestep. For every spatial transformer block of the mid and up blocks ("midup" fusion), the
output of `norm1` is kept in a bank; the denoiser's block of the same name then attends with its
own `attn1` weights to `concat([norm_h, bank], dim=tokens)`. The unconditional half of
classifier-free guidance keeps plain self-attention, so guidance amplifies reference appearance.

The bank is written as the official code writes it: with guidance, the encoder runs on the two
classifier-free-guidance rows (the reference latent twice, with the two empty-prompt embeddings)
and the conditional row is kept; then it is cast to fp16 even in fp32 runs (`bank_dtype`, default
float16 for parity). Running one row instead changes the bank in its last bits (batched kernels).
Reference: magic-research/magic-animate `magicanimate/models/mutual_self_attention.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch import nn


def midup_block_names(unet: nn.Module) -> list[str]:
    """Spatial transformer blocks of the mid and up blocks (motion modules excluded)."""
    return [
        name
        for name, module in unet.named_modules()
        if isinstance(module, BasicTransformerBlock)
        and name.startswith(("mid_block.attentions.", "up_blocks."))
        and ".attentions." in name
    ]


class ReferenceState:
    """Banks shared by the writer hooks and the reader processors for one denoising step.

    `uncond_rows` is the number of leading batch rows (unconditional guidance half) that keep
    plain self-attention.
    """

    def __init__(self, bank_dtype: torch.dtype | None = torch.float16) -> None:
        self.bank_dtype = bank_dtype
        self.banks: dict[str, torch.Tensor] = {}
        self.uncond_rows = 0

    def clear(self) -> None:
        self.banks.clear()


class ReferenceAttnProcessor:
    """`attn1` processor: conditional rows attend to `[own tokens, reference tokens]`."""

    def __init__(self, state: ReferenceState, name: str) -> None:
        self.state = state
        self.name = name
        self.base = AttnProcessor2_0()

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs: object,
    ) -> torch.Tensor:
        bank = self.state.banks.get(self.name)
        if bank is None:
            return self.base(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        u = self.state.uncond_rows
        cond = hidden_states[u:]
        # (rows, tokens, c) ++ (rows, ref_tokens, c) -> keys/values over both token sets
        context = torch.cat([cond, bank.to(cond.dtype).expand(cond.shape[0], -1, -1)], dim=1)
        out = self.base(attn, cond, context, attention_mask, temb)
        if u == 0:
            return out
        plain = self.base(attn, hidden_states[:u], None, attention_mask, temb)
        return torch.cat([plain, out])


class ReferenceAttention:
    """Connects an appearance encoder (writer) to a denoiser (reader) by block name."""

    def __init__(
        self,
        writer: UNet2DConditionModel,
        reader: nn.Module,
        *,
        bank_dtype: torch.dtype | None = torch.float16,
    ) -> None:
        self.writer = writer
        self.state = ReferenceState(bank_dtype)
        self.names = midup_block_names(reader)
        missing = [n for n in self.names if n not in dict(writer.named_modules())]
        if missing:
            raise ValueError(f"appearance encoder lacks reference blocks {missing[:3]}")
        for name in self.names:
            writer.get_submodule(name).norm1.register_forward_hook(self._store(name))
            reader.get_submodule(name).attn1.set_processor(ReferenceAttnProcessor(self.state, name))

    def _store(self, name: str) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            # keep the conditional (last) row: (1, tokens, c)
            bank = output[-1:].detach()
            if self.state.bank_dtype is not None:
                bank = bank.to(self.state.bank_dtype)
            self.state.banks[name] = bank

        return hook

    @torch.no_grad()
    def write(
        self,
        ref_latents: torch.Tensor,
        timestep: torch.Tensor | int,
        text: torch.Tensor,
        *,
        guided: bool = False,
    ) -> None:
        """Fill the banks from the clean reference latent (1, 4, h, w) at `timestep`; `guided`
        encodes the two guidance rows (1, 77, c) text each, as the official pipeline does."""
        self.state.clear()
        rows = 2 if guided else 1
        self.writer(
            ref_latents.expand(rows, -1, -1, -1),
            timestep,
            encoder_hidden_states=text.expand(rows, -1, -1),
            return_dict=False,
        )

    def clear(self) -> None:
        self.state.clear()
