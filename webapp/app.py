"""The Gradio page: upload music and a photo, pick models, run, watch each stage (cached or
running, seconds), then watch the dance and its intermediates and download the results.

Runs execute in this process (`flows.plan`, then `flows.execute`) in a worker thread, one at a
time (the Run event has a queue of concurrency 1), on the same store as the CLI. Gradio is
imported only after its upload folder is pointed into the store, so nothing is written or served
outside it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from tasks.base import InputError
from webapp import jobs

log = logging.getLogger("music2dance.webapp")

POLL_SECONDS = 0.5
INTRO = """# music2dance
Music + one photo of a person: a video of that person dancing to the music.
Each stage's output is cached in the store, so the same inputs a second time are instant."""


def _environment(store_root: str) -> None:
    """Gradio's uploads and output cache inside the store; no telemetry, no hub lookups."""
    folder = jobs.upload_dir(store_root)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _error(text: str) -> str:
    return f"### Error\n{text}"


def build_app(store_root: str, base_overrides: list[str] | None = None) -> Any:
    """The gr.Blocks page for a store; `base_overrides` are the server's `--set` params."""
    _environment(store_root)
    import gradio as gr

    from flows.dag import param_rules
    from params import resolve_params

    rules = param_rules()
    params = resolve_params(rules, base_overrides or [])
    motion_models = jobs.model_choices(rules, params, "motion")
    animators = jobs.model_choices(rules, params, "animate")
    runner = jobs.Runner(store_root, base_overrides)
    store_root = runner.store_root

    with gr.Blocks(title="music2dance", delete_cache=(3600, 86400)) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            music = gr.File(label="Music (wav, mp3, flac, ogg, m4a ...)", elem_id="music")
            photo = gr.File(label="Photo of one person, face visible", elem_id="photo")
        with gr.Row():
            motion_model = gr.Dropdown(
                motion_models, value=_default(params, "motion", motion_models), label="Motion model"
            )
            animator = gr.Dropdown(
                animators, value=_default(params, "animate", animators), label="Animator"
            )
            seed = gr.Number(value=params["motion"]["seed"], precision=0, label="Seed", minimum=0)
            resolution = gr.Slider(
                128,
                1024,
                value=params["align"]["resolution"],
                step=64,
                label="Resolution (px)",
                elem_id="resolution",
            )
        run = gr.Button("Run", variant="primary", elem_id="run")
        status = gr.Markdown(elem_id="status")
        progress = gr.Markdown(elem_id="progress")
        video = gr.Video(
            label="Dance (with music)", elem_id="result", interactive=False, height=512
        )
        beats = gr.Image(
            label="Music beats vs motion", elem_id="beats", interactive=False, height=300
        )
        with gr.Row():
            driving = gr.Video(label="DensePose driving video", elem_id="driving", height=360)
            face = gr.Image(
                label="Face box on the photo, aligned dancer overlaid", elem_id="face", height=360
            )
        downloads = gr.File(
            label="Downloads: mp4, motion (npz, pkl, bvh), run report",
            file_count="multiple",
            interactive=False,
            elem_id="downloads",
        )
        outputs = [status, progress, video, beats, driving, face, downloads]

        def cleared(text: str, table: str = "") -> list[Any]:
            return [text, table, None, None, None, None, None]

        def on_run(
            music_path: str | None,
            photo_path: str | None,
            motion_choice: str,
            animator_choice: str,
            seed_value: float | None,
            resolution_value: float,
        ) -> Any:
            try:
                if motion_choice not in motion_models or animator_choice not in animators:
                    raise InputError(
                        f"choose a motion model from {motion_models} and an animator from "
                        f"{animators}"
                    )
                audio = jobs.check_upload(music_path, "music", jobs.MAX_AUDIO_BYTES)
                image = jobs.check_upload(photo_path, "photo", jobs.MAX_IMAGE_BYTES)
                overrides = jobs.run_overrides(
                    runner.base_overrides,
                    motion_choice,
                    animator_choice,
                    int(seed_value or 0),
                    int(resolution_value),
                )
                job = runner.start(audio, image, overrides)
            except InputError as err:
                yield cleared(_error(str(err)))
                return
            except Exception as err:  # one line in the page; the traceback goes to the log
                log.exception("could not start the run")
                yield cleared(_error(f"could not start the run ({type(err).__name__}: {err})"))
                return
            yield cleared("Starting ...", job.table())
            while not job.finished:
                time.sleep(POLL_SECONDS)
                job.poll()
                yield cleared(job.headline(), job.table())
            job.poll()
            if job.error is not None:
                yield cleared(_error(job.error), job.table())
                return
            yield _results(store_root, job, audio)

        run.click(on_run, [music, photo, motion_model, animator, seed, resolution], outputs)
    return app


def _default(params: dict[str, dict[str, Any]], stage: str, choices: list[str]) -> str:
    """The params' model when this server can run it, else the first that it can."""
    return params[stage]["model"] if params[stage]["model"] in choices else choices[0]


def _results(store_root: str, job: jobs.Job, audio: Path) -> list[Any]:
    report = job.report
    ran = [s["name"] for s in report["stages"] if not s["cached"]]
    if ran:
        cached = len(report["stages"]) - len(ran)
        text = f"Done in {job.wall_seconds:.1f} s: ran {', '.join(ran)}" + (
            f"; {cached} stage(s) cached." if cached else "."
        )
    else:
        text = "Done: every stage was cached, nothing ran (the same inputs as an earlier run)."
    try:
        previews = [
            jobs.beats_plot(store_root, report),
            jobs.densepose_video(store_root, report, audio, job.params["animate"]["crf"]),
            jobs.face_box_image(store_root, report),
        ]
        files = [
            report["output"],
            *jobs.motion_files(store_root, report),
            jobs.report_file(store_root, report),
        ]
    except Exception as err:  # the dance itself is fine; say which preview failed
        log.exception("previews failed")
        text += f" Previews failed ({type(err).__name__}); see the log."
        previews, files = [None, None, None], [report["output"]]
    return [text, job.table(), report["output"], *map(_str, previews), [str(f) for f in files]]


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def serve(
    store_root: str, host: str = "127.0.0.1", port: int | None = None, overrides: list[str] = ()
) -> None:
    """Serve the page until interrupted; uploads over the music limit are refused by Gradio."""
    store = str(Path(store_root).expanduser().resolve())
    _environment(store)
    import gradio as gr

    app = build_app(store, list(overrides))
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    _, url, _ = app.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        max_file_size=jobs.MAX_AUDIO_BYTES,
        allowed_paths=[str(jobs.webapp_dir(store)), str(Path(store) / "artifacts" / "animate")],
        theme=theme,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=[],
        show_error=False,
        quiet=True,
        prevent_thread_lock=True,
    )
    log.info("music2dance web app on %s (store %s); Ctrl+C stops it", url, store)
    # SIGTERM stops like Ctrl+C, so exit handlers run.
    signal.signal(signal.SIGTERM, _interrupt)
    app.block_thread()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
