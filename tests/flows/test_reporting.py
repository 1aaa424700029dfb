"""flows.reporting on small made-up batches: task run names, the per-row progress (bar and log
lines), the table artifact's rows and the state a batch ends in. No Prefect server."""

import logging
from types import SimpleNamespace

from flows.reporting import RowProgress, batch_state, batch_table, task_run_names


def plan(row: int, audio: str, image: str, keys: dict[str, str]) -> SimpleNamespace:
    stages = [SimpleNamespace(name=name, key=key) for name, key in keys.items()]
    return SimpleNamespace(row=SimpleNamespace(row=row, audio=audio, image=image), stages=stages)


def test_task_run_names_map_artifacts_to_rows_and_their_files():
    shared = {"audio": "a1", "motion": "m1"}
    plans = [
        plan(0, "/in/song.wav", "/in/me.jpg", shared | {"align": "l0", "animate": "v0"}),
        plan(1, "/in/song.wav", "/in/{you}.jpg", shared | {"align": "l1", "animate": "v1"}),
    ]
    names = task_run_names(plans)
    assert names["audio", "a1"] == "audio rows 0, 1: song.wav"
    assert names["motion", "m1"] == "motion rows 0, 1: song.wav"
    assert names["align", "l0"] == "align row 0: me.jpg"
    assert names["animate", "v0"] == "animate row 0: song.wav + me.jpg"
    # Prefect formats a run name with the task's parameters: braces in a file name are doubled
    assert names["animate", "v1"] == "animate row 1: song.wav + {{you}}.jpg"


def test_progress_bar_counts_done_failed_and_cached(capsys):
    progress = RowProgress(3, bar=True, finished=["cached"])  # a cached row: counted at once
    assert "1/3" in capsys.readouterr().err
    for status in ("failed", "done"):
        progress.update(status)
    progress.close()
    err = capsys.readouterr().err
    assert "3/3" in err and "1 done, 1 failed, 1 cached" in err


def test_without_a_terminal_a_line_at_every_tenth_of_the_rows(caplog):
    caplog.set_level(logging.INFO, logger="music2dance.synth")
    progress = RowProgress(20, bar=False)
    for _ in range(20):
        progress.update("done")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rows ")]
    assert len(lines) == 10 and lines[-1] == "rows 20/20: 20 done, 0 failed, 0 cached"


def test_batch_table_and_a_failed_batch_state():
    records = [
        {"row": 0, "status": "done", "computed": "audio,animate", "error": None},
        {"row": 1, "status": "done", "computed": "", "error": None},
        {"row": 2, "status": "failed", "computed": "", "error": "align: bad photo"},
    ]
    table = batch_table(records, {"animate": 2.5}, {"bas_min": 1})
    assert {r["what"]: r["value"] for r in table} == {
        "rows": 3,
        "rows done": 1,
        "rows cached": 1,
        "rows failed": 1,
        "seconds animate": 2.5,
        "gate missed: bas_min": 1,
        "row 2 failed": "align: bad photo",
    }
    summary = {"rows": 3, "failed": 1, "errors": {2: "align: bad photo"}, "index": "ds/i.pq"}
    state = batch_state(summary)
    assert state.is_failed() and state.message == (
        "1 of 3 rows failed (row 2: align: bad photo); index: ds/i.pq"
    )
    assert batch_state(summary | {"failed": 0}) == summary | {"failed": 0}
