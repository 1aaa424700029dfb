"""Audio stage: music file -> EDGE baseline features, normalised onset strength and beat times."""

from __future__ import annotations

from tasks.audio.decode import load_audio
from tasks.audio.edge_features import RECIPE as EDGE_RECIPE
from tasks.audio.edge_features import edge_windows_of_file
from tasks.audio.features import FPS, NUM_FEATURES, SAMPLE_RATE, extract_features
from tasks.base import InputError, Param, StageContext, StageSpec

_CHUNK_FRAMES = 1024


def compute(ctx: StageContext) -> None:
    """Write `features` (T,35), `onset` (T,), `beats` (n,) and fps/num_frames/duration/tempo."""
    if ctx.audio_path is None:
        raise InputError("no audio file given (pass --audio PATH)")
    min_seconds, max_seconds = ctx.params["min_seconds"], ctx.params["max_seconds"]
    if min_seconds > max_seconds:
        raise InputError(
            f"audio.min_seconds={min_seconds} exceeds audio.max_seconds={max_seconds} "
            "(lower min_seconds or raise max_seconds)"
        )
    samples = load_audio(
        ctx.audio_path, SAMPLE_RATE, min_seconds=min_seconds, max_seconds=max_seconds
    )
    music = extract_features(samples)
    ctx.log.info(
        "audio: %.2f s, %d frames, %.1f bpm, %d beats",
        music.duration,
        music.num_frames,
        music.tempo,
        music.beats.size,
    )
    t = music.num_frames
    features = ctx.out.create_array(
        "features", shape=(t, NUM_FEATURES), chunks=(_CHUNK_FRAMES, NUM_FEATURES), dtype="float32"
    )
    features[:] = music.features
    onset = ctx.out.create_array("onset", shape=(t,), chunks=(_CHUNK_FRAMES,), dtype="float32")
    onset[:] = music.onset
    beats = ctx.out.create_array(
        "beats", shape=music.beats.shape, chunks=(max(music.beats.size, 1),), dtype="float64"
    )
    beats[:] = music.beats
    if ctx.params["features"] == EDGE_RECIPE:  # EDGE's own per-slice features, as it trains
        windows = edge_windows_of_file(ctx.audio_path, num_frames=t)
        ctx.out.create_array("edge_windows", data=windows, chunks=(1, *windows.shape[1:]))
    ctx.out.attrs.update(
        {
            "features": ctx.params["features"],
            "fps": FPS,
            "num_frames": t,
            "duration": music.duration,
            "tempo": music.tempo,
            "sample_rate": SAMPLE_RATE,
        }
    )


SPEC = StageSpec(
    name="audio",
    version=1,
    upstream=(),
    raw_inputs=("audio",),
    params={
        "min_seconds": Param(float, min=0.5, max=600.0, help="shortest clip accepted (s)"),
        "max_seconds": Param(float, min=1.0, max=3600.0, help="longest clip accepted (s)"),
        "features": Param(
            str, choices=("song", EDGE_RECIPE), help="edge: also EDGE's per-5 s-slice features"
        ),
    },
    compute=compute,
)
