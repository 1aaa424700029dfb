"""Audio stage: decode the music, extract EDGE's 35-d baseline features, beats and tempo."""
