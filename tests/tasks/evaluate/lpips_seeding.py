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
