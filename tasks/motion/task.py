"""Motion stage: audio artifact -> EDGE/SMPL-format dance (poses, trans, joints, motion151)."""

from __future__ import annotations

import numpy as np

from tasks.base import Model, Param, StageContext, StageSpec
from tasks.body.skeleton import NUM_JOINTS, forward_kinematics, to_motion151
from tasks.motion.choreographer import choreograph
from tasks.motion.edge.params import MODEL as EDGE_MODEL
from tasks.motion.edge.params import PARAMS as EDGE_PARAMS
from tasks.motion.library.clips import BUNDLED
from tasks.motion.library.graph import library_graph
from tasks.motion.library.synthesis import Framing, synthesize

_CHUNK_FRAMES = 256


def _write(ctx: StageContext, name: str, data: np.ndarray) -> None:
    array = ctx.out.create_array(
        name, shape=data.shape, chunks=(_CHUNK_FRAMES, *data.shape[1:]), dtype="float32"
    )
    array[:] = data.astype(np.float32)


def compute(ctx: StageContext) -> None:
    """Write `poses` (T,24,3), `trans` (T,3), `joints` (T,24,3), `motion151` (T,151) at 30 fps."""
    audio = ctx.upstream["audio"]
    fps = int(audio.attrs["fps"])
    num_frames = int(audio.attrs["num_frames"])
    if ctx.params["model"] == "edge":
        from tasks.motion.edge.stage import sample_from_artifact

        poses, trans = sample_from_artifact(ctx)
    else:
        music = {  # what both weight-free models read from the audio artifact
            "onset": audio["onset"][:],
            "beats": audio["beats"][:],
            "tempo": float(audio.attrs["tempo"]),
            "num_frames": num_frames,
            "fps": fps,
            "seed": ctx.params["seed"],
            "energy": ctx.params["energy"],
        }
        if ctx.params["model"] == "library":
            framing = Framing(np.radians(ctx.params["max_turn_deg"]), ctx.params["stay_radius"])
            graph = library_graph(ctx.params["library"])
            poses, trans = synthesize(graph, framing=framing, **music)
        else:
            poses, trans = choreograph(**music)
    if poses.shape != (num_frames, NUM_JOINTS, 3) or trans.shape != (num_frames, 3):
        raise RuntimeError(
            f"motion model {ctx.params['model']} returned poses {poses.shape} and trans "
            f"{trans.shape}; expected ({num_frames}, 24, 3) and ({num_frames}, 3)"
        )
    joints = forward_kinematics(poses, trans)
    _write(ctx, "poses", poses)
    _write(ctx, "trans", trans)
    _write(ctx, "joints", joints)
    _write(ctx, "motion151", to_motion151(poses, trans, joints))
    ctx.out.attrs.update({"fps": fps, "num_frames": num_frames, "model": ctx.params["model"]})


SPEC = StageSpec(
    name="motion",
    version=2,  # 2: partner holds freed in the library model
    upstream=("audio",),
    raw_inputs=("audio",),  # EDGE's Jukebox features are extracted from the music file itself
    params={
        "model": Param(str, choices=("library", "choreographer", "edge"), help="motion generator"),
        "seed": Param(int, help="seed of every random choice (moves, sampler noise)"),
        "energy": Param(float, min=0.0, max=2.0, help="movement amplitude / energy scale"),
        "library": Param(
            str,
            nullable=True,
            path=True,
            bundled=BUNDLED,
            help="motion library (build-library); null: bundled",
        ),
        "max_turn_deg": Param(float, min=5.0, max=180.0, help="library: yaw limit from front"),
        "stay_radius": Param(float, min=0.05, help="library: metres the dancer may drift"),
    }
    | EDGE_PARAMS,
    compute=compute,
    models={
        "library": Model(params=("energy", "library", "max_turn_deg", "stay_radius")),
        "choreographer": Model(params=("energy",)),
        "edge": EDGE_MODEL,
    },
)
