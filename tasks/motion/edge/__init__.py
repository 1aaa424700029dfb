"""EDGE music-to-dance diffusion: checkpoint-compatible network, safe loading, samplers, editing.

Modules: `params` (stage params, light), `model` (DanceDecoder + strict loader), `checkpoint`
(restricted unpickling, convert-edge), `diffusion` / `longform` / `generate` (samplers and
stitching), `editing`, `train`, `stage` (`sample_from_artifact`, the motion stage's EDGE branch).
Import `stage` lazily: it pulls in torch.
"""
