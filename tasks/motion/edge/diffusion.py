"""EDGE's Gaussian diffusion: cosine schedule, x0 prediction, DDIM/DDPM samplers, long-form loop.

Notation (Song et al. 2021, "DDIM", eq. 12; Ho et al. 2020, "DDPM", eq. 6-7):

| code              | paper                          |
|-------------------|--------------------------------|
| `alphas_cumprod`  | alpha_bar_t (DDPM) = alpha_t (DDIM) |
| `x`               | x_t, the noisy motion          |
| `x0`              | f_theta(x_t, t), predicted clean motion, clamped to [-1, 1] |
| `eps`             | epsilon_theta(x_t, t), the noise implied by x0 |
| `sigma`           | sigma_t(eta), eta = 1          |

Random numbers follow the official call order: one `randn` of the full batch shape, then one
draw of the same shape per noisy step (49 for 50 DDIM steps), all from one seeded CPU generator,
so the same weights and seed give the official output (`parity=True`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from tasks.motion.edge.model import DanceDecoder

OVERLAP = 75  # frames shared by consecutive windows (2.5 s at 30 fps)


def cosine_beta_schedule(num_steps: int, s: float = 0.008) -> Tensor:
    """Betas (num_steps,) float32 of Nichol & Dhariwal 2021 eq. 17, computed in float64."""
    steps = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps + s
    alphas_bar = torch.cos(steps / (1 + s) * np.pi / 2).pow(2)
    alphas_bar = alphas_bar / alphas_bar[0]
    betas = (1 - alphas_bar[1:] / alphas_bar[:-1]).clip(0, 0.999)
    return betas.float()


class GaussianDiffusion(nn.Module):
    """Schedule tensors as buffers (they follow `.to()`), forward process and posterior."""

    def __init__(self, num_steps: int = 1000) -> None:
        super().__init__()
        betas = cosine_beta_schedule(num_steps)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        alphas_cumprod_prev = torch.cat([torch.ones(1), alphas_cumprod[:-1]])
        self.num_steps = num_steps
        self.register_buffer("betas", betas)
        self.register_buffer("alphas_cumprod", alphas_cumprod)
        self.register_buffer("sqrt_alphas_cumprod", alphas_cumprod.sqrt())
        self.register_buffer("sqrt_one_minus_alphas_cumprod", (1.0 - alphas_cumprod).sqrt())
        self.register_buffer("sqrt_recip_alphas_cumprod", (1.0 / alphas_cumprod).sqrt())
        self.register_buffer("sqrt_recipm1_alphas_cumprod", (1.0 / alphas_cumprod - 1).sqrt())
        variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        self.register_buffer("posterior_variance", variance)
        self.register_buffer("posterior_log_variance", variance.clamp(min=1e-20).log())
        self.register_buffer(
            "posterior_mean_coef1", betas * alphas_cumprod_prev.sqrt() / (1.0 - alphas_cumprod)
        )
        self.register_buffer(
            "posterior_mean_coef2",
            (1.0 - alphas_cumprod_prev) * (1.0 - betas).sqrt() / (1.0 - alphas_cumprod),
        )

    def q_sample(self, x0: Tensor, t: int, noise: Tensor) -> Tensor:
        """x_t ~ q(x_t | x_0) (DDPM eq. 4)."""
        return self.sqrt_alphas_cumprod[t] * x0 + self.sqrt_one_minus_alphas_cumprod[t] * noise

    def predict_noise_from_start(self, x: Tensor, t: int, x0: Tensor) -> Tensor:
        """eps implied by x0 (DDPM eq. 15 solved for eps)."""
        return (self.sqrt_recip_alphas_cumprod[t] * x - x0) / self.sqrt_recipm1_alphas_cumprod[t]


def ddim_timesteps(num_steps: int, sampling_steps: int) -> list[tuple[int, int]]:
    """Official pairs (999, 979), ..., (19, -1) for 50 steps; -1 means 'return x0'."""
    times = torch.linspace(-1, num_steps - 1, steps=sampling_steps + 1).int().tolist()[::-1]
    return list(zip(times[:-1], times[1:], strict=True))


def guidance_weights(weight: float, sampling_steps: int, ramp: bool) -> list[float]:
    """Per-step weights; long form ramps clip(linspace(0, 2w), max w): step one unconditional."""
    if not ramp:
        return [weight] * sampling_steps
    return np.clip(np.linspace(0, weight * 2, sampling_steps), None, weight).tolist()


@dataclass(frozen=True)
class Constraint:
    """Editing: keep `value` where `mask` is 1; both (n, 150, 151) in normalised space."""

    mask: Tensor
    value: Tensor


Denoiser = Callable[[Tensor, int, float], Tensor]  # (x_t, t, guidance weight) -> x0 prediction


def make_denoiser(model: DanceDecoder, cond: Tensor, fast: bool) -> Denoiser:
    """x0 predictor with guidance; fast mode encodes the music once for every step."""
    if fast:
        cache = model.music_cache(cond)

        def fast_x0(x: Tensor, t: int, weight: float) -> Tensor:
            times = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
            return model.guided_forward_fast(x, cache, times, weight).clamp(-1.0, 1.0)

        return fast_x0

    def parity_x0(x: Tensor, t: int, weight: float) -> Tensor:
        times = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        return model.guided_forward(x, cond, times, weight).clamp(-1.0, 1.0)

    return parity_x0


class DDIMSampler:
    """DDIM with eta = 1 (official `ddim_sample` / `long_ddim_sample`)."""

    def __init__(self, diffusion: GaussianDiffusion, steps: int, eta: float = 1.0) -> None:
        self.diffusion = diffusion
        self.eta = eta
        self.timesteps = ddim_timesteps(diffusion.num_steps, steps)

    def step(self, x0: Tensor, x: Tensor, t: int, t_next: int, noise: Tensor) -> Tensor:
        """x_{t_next} from x_t and the predicted x0 (DDIM eq. 12 and 16)."""
        # 1. implied noise eps_theta(x_t)
        eps = self.diffusion.predict_noise_from_start(x, t, x0)
        alpha = self.diffusion.alphas_cumprod[t]
        alpha_next = self.diffusion.alphas_cumprod[t_next]
        # 2. sigma_t(eta) (eq. 16) and the direction coefficient sqrt(1 - alpha_next - sigma^2)
        sigma = self.eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
        # clamp: with few steps and eta = 1 rounding can make this -1e-7 (NaN in the official code)
        c = (1 - alpha_next - sigma**2).clamp(min=0).sqrt()
        # 3. eq. 12
        return x0 * alpha_next.sqrt() + c * eps + sigma * noise


class DDPMSampler:
    """Ancestral sampling over all steps (official `p_sample_loop`); guidance clipped late."""

    def __init__(self, diffusion: GaussianDiffusion) -> None:
        self.diffusion = diffusion
        n = diffusion.num_steps
        self.timesteps = [(t, t - 1) for t in range(n - 1, -1, -1)]

    def step(self, x0: Tensor, x: Tensor, t: int, t_next: int, noise: Tensor) -> Tensor:
        """x_{t-1} ~ q(x_{t-1} | x_t, x0) (DDPM eq. 6-7); t = 0 returns the mean."""
        d = self.diffusion
        mean = d.posterior_mean_coef1[t] * x0 + d.posterior_mean_coef2[t] * x
        if t == 0:
            return mean
        return mean + (0.5 * d.posterior_log_variance[t]).exp() * noise

    def guidance(self, t: int, weight: float) -> float:
        """Official `p_mean_variance` weight: at most 1 over the last 10% of steps."""
        return min(weight, 1.0) if t < 0.1 * self.diffusion.num_steps else weight


def sample(
    denoiser: Denoiser,
    sampler: DDIMSampler | DDPMSampler,
    shape: tuple[int, int, int],
    *,
    guidance: float,
    generator: torch.Generator,
    constraint: Constraint | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Windows (n, 150, 151) in normalised space; n > 1 are consecutive, overlapping by 75 frames.

    Several windows (long form): guidance ramps up, and after every noisy step the first 75 frames
    of each window are overwritten by the last 75 of the previous one. One window: constant
    guidance, as the official code falls back to the plain sampler.
    """
    long_form = shape[0] > 1
    ddim = isinstance(sampler, DDIMSampler)
    weights = guidance_weights(guidance, len(sampler.timesteps), ramp=long_form and ddim)
    x = torch.randn(shape, generator=generator).to(device)
    for (t, t_next), weight in zip(sampler.timesteps, weights, strict=True):
        w = weight if ddim else sampler.guidance(t, weight)
        x0 = denoiser(x, t, w)
        if t_next < 0:
            x = x0
        else:
            noise = torch.randn(shape, generator=generator).to(device)
            x = sampler.step(x0, x, t, t_next, noise)
        if constraint is not None:
            x = impose(x, constraint, sampler.diffusion, t_next, generator)
        if long_form and t_next >= 0:
            x[1:, :OVERLAP] = x[:-1, -OVERLAP:]
    return x


def impose(
    x: Tensor, constraint: Constraint, diffusion: GaussianDiffusion, t: int, gen: torch.Generator
) -> Tensor:
    """Replace constrained channels by the given values noised to level t (clean when t < 0)."""
    value = constraint.value
    if t >= 0:
        noise = torch.randn(value.shape, generator=gen).to(value.device)
        value = diffusion.q_sample(value, t, noise)
    return torch.where(constraint.mask > 0.5, value, x)
