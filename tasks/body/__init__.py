"""The shared body vocabulary no stage owns: SMPL skeleton, AIST++ files, motion beats."""
