"""Training datasets from synthesized clips: WebDataset-style tar shards, the TikTok folder
layout, and a PyTorch `IterableDataset` that streams the shards.

One sample per clip, keyed by the clip's animate key (64 hex digits). Members of a shard, in the
WebDataset convention (`<key>.<ext>`, a sample's members consecutive):

    <key>.reference.png   (H, W, 3) the aligned reference photo
    <key>.driving.mp4     the aligned DensePose video that drove the animator (H.264 + music)
    <key>.output.mp4      the animator's video (H.264 + music), as synth wrote it
    <key>.parts.npz       parts (T, H, W) uint8: exact DensePose part indices of the driving body
    <key>.motion.npz      poses (T, 24, 3) SMPL axis-angle, trans (T, 3) m, joints (T, 24, 3) FK
                          joints in m, joints2d (T, 24, 2) output pixels
    <key>.music.npz       features (T, 35) EDGE baseline features, onset (T,), beats (n,) s
    <key>.audio.<ext>     the source music file as given
    <key>.mask.npz        mask (T, H, W) bool: the person per output frame, when the animator
                          stores one
    <key>.json            keys, params, metrics, gate results, fps, split

Every per-frame member has the same T frames at the same fps.
"""
