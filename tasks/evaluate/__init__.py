"""Evaluation: motion, video and identity metrics, quality gates and plots for finished clips."""
