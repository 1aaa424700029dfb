"""Animate stage: reference photo + aligned driving video -> frames and the final mp4."""
