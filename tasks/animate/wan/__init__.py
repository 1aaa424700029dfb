"""Wan2.2-Animate-14B through diffusers' WanAnimatePipeline, driven by the render stage's pose."""
