"""Render stage: skin a body mesh with the motion and rasterize DensePose part maps."""
