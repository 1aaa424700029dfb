"""Seeded LPIPS backbone weights, drawn identically by the golden script and the tests."""

import torch


def seeded_backbone(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """torchvision-named `features.N.weight|bias` -> values drawn in sorted key order.

    He-scaled weights and small biases keep activations alive through 13 conv layers.
    """
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("bias"):
            out[key] = 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = shape[1] * shape[2] * shape[3]
            out[key] = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
    return out


def seeded_network(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Any conv/BN/linear state_dict by name, drawn in sorted key order: LeCun-scaled kernels
    (residual sums stay moderate), BN near identity with spread running statistics (so
    eval-mode BN is exercised)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros(shape, dtype=torch.long)
        elif key.endswith("running_var"):
            out[key] = 0.5 + torch.rand(shape, generator=gen)
        elif len(shape) == 1:  # BN weight/bias, running_mean, linear bias
            base = 1.0 if key.endswith("weight") else 0.0
            out[key] = base + 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = int(torch.tensor(shape[1:]).prod())
            out[key] = torch.randn(shape, generator=gen) * (1.0 / fan_in) ** 0.5
    return out
