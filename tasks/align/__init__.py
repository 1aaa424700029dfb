"""Align stage: fit the driving DensePose video to the reference photo's face."""
