"""Dance motion library: real motion capture retargeted to SMPL's 24 joints at 30 fps."""
