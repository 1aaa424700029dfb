"""Embedded CPU animator: the reference person cut out, skinned to 2D bones, moved per frame."""

from tasks.animate.cutout.animator import CutoutAnimator

__all__ = ["CutoutAnimator"]
