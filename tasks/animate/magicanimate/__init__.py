"""MagicAnimate-compatible animator on current diffusers (official weights, parity, bounded memory).

Modules: `params` (stage params, light), `unet` (video denoiser), `convert` (official key mapping),
`reference` (appearance encoder -> reference attention), `face` (the report's face-attention
adapter), `windows` (closed-loop windows, tiled noise), `pipeline` (the recipe), `loading` (local
folders), `stage` (`animate_from_artifact`: align artifact -> frames), `train` (face adapter).
Import `stage` lazily: it pulls in diffusers and transformers.
"""
