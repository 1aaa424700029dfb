"""Every failure is one line: bad input exits 2, the environment (read-only store, full disk, a
store that is a file) exits 1; checkable problems fail before any stage runs; `-v` alone shows the
traceback."""

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import music2dance_cli.main as cli
from artifacts.store import MANIFEST, Store
from tests.conftest import FAST, SR

from .clirun import error_line, run_cli


def _run(inputs, store: Path, out: Path, *extra) -> list[str]:
    """`run` argv with --store after the command (accepted there as before it)."""
    argv = ["run", "--audio", inputs["audio"], "--image", inputs["image"], "--out", out]
    return argv + [*FAST, "--store", store, *extra]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


@contextlib.contextmanager
def read_only(path: Path):
    """`path` and everything under it unwritable; root writes through permissions, so for root
    the files are marked immutable instead."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "-R", "+i", path]).returncode:
            pytest.skip("cannot make a folder read-only for root here (no chattr support)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-R", "-i", path], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_nan_wav_is_one_input_error_line(inputs, tmp_path, capfd):
    samples = np.sin(np.linspace(0, 2000, SR * 3)).astype(np.float32)
    samples[100], samples[200] = np.nan, np.inf
    sf.write(tmp_path / "nan.wav", samples, SR, subtype="FLOAT")
    argv = _run(inputs, tmp_path / "store", tmp_path / "o.mp4")
    argv[argv.index(inputs["audio"])] = tmp_path / "nan.wav"
    code, _, err = run_cli(capfd, argv)
    assert code == 2 and "NaN or infinite" in error_line(err)
    assert _files(tmp_path / "store") == set()


def test_bad_out_fails_before_any_stage_and_leaves_no_temp_file(inputs, tmp_path, capfd):
    folder, fifo = tmp_path / "videos", tmp_path / "pipe.mp4"
    folder.mkdir()
    os.mkfifo(fifo)
    for out, needle in [(folder, "is a folder"), (fifo, "not a regular file")]:
        code, _, err = run_cli(capfd, _run(inputs, tmp_path / "store", out))
        assert code == 2 and needle in error_line(err)
        assert "running" not in err  # no stage started
    assert _files(tmp_path) == {"videos", "pipe.mp4"} and fifo.is_fifo()


def test_copy_out_removes_its_temp_file_and_never_replaces_a_special_file(tmp_path, monkeypatch):
    src = tmp_path / "video.mp4"
    src.write_bytes(b"x" * 1000)
    os.mkfifo(tmp_path / "pipe.mp4")  # appears at --out after the up-front check
    copy = lambda tmp: shutil.copyfile(src, tmp)  # noqa: E731
    with pytest.raises(cli.InputError, match="not a regular file"):
        cli._deliver(copy, tmp_path / "pipe.mp4")
    assert (tmp_path / "pipe.mp4").is_fifo()

    def half_then_full(a, b):
        Path(b).write_bytes(Path(a).read_bytes()[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(b))

    (tmp_path / "old.mp4").write_bytes(b"old")
    with pytest.raises(OSError):
        cli._deliver(lambda tmp: half_then_full(src, tmp), tmp_path / "old.mp4")
    assert _files(tmp_path) == {"video.mp4", "pipe.mp4", "old.mp4"}
    assert (tmp_path / "old.mp4").read_bytes() == b"old"


def _damaged_store(root: Path) -> None:
    store = Store(root)
    key = "a" * 64
    with store.staging("motion", key) as (tmp, group):
        group.create_array("x", shape=(4,), dtype="float32")[:] = 1.0
        store.publish(tmp, "motion", key)
    (store.path("motion", key) / "x" / "c" / "0").write_bytes(b"garbage")


def test_environment_problems_are_one_line_exit_1(inputs, tmp_path, capfd):
    empty, damaged = tmp_path / "empty", tmp_path / "damaged"
    empty.mkdir()
    _damaged_store(damaged)
    with read_only(empty), read_only(damaged):
        code, _, err = run_cli(capfd, _run(inputs, empty, tmp_path / "o.mp4"))
        assert code == 1 and "cannot write" in error_line(err) and "running" not in err
        code, out, err = run_cli(capfd, ["cache", "verify", "--store", damaged])
        assert code == 1 and "cannot write" in error_line(err)
        assert "motion" in out and "truncated file x/c/0" in out  # the damage is still reported
    assert (damaged / "artifacts" / "motion" / ("a" * 64) / MANIFEST).exists()

    (tmp_path / "store-file").write_text("not a folder")
    code, _, err = run_cli(capfd, _run(inputs, tmp_path / "store-file", tmp_path / "o.mp4"))
    assert code == 1 and "not a folder" in error_line(err)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.csv", b""),
        ("quote.csv", b'audio,image\n"a.wav,b.png\n'),
        ("binary.csv", bytes(range(128, 256)) * 20),
        ("fake.parquet", b"audio,image\na.wav,b.png\n"),
    ],
)
def test_bad_manifest_is_one_line(name, content, tmp_path, capfd):
    (tmp_path / name).write_bytes(content)
    argv = ["synth", "--manifest", tmp_path / name, "--out", tmp_path / "ds"]
    code, _, err = run_cli(capfd, argv + ["--store", tmp_path / "store"])
    assert code == 2 and "manifest" in error_line(err) and "not a readable" in err


def test_failure_inside_a_stage_is_one_line_and_only_v_shows_the_traceback(
    inputs, tmp_path, capfd, monkeypatch
):
    def disk_full(self, stage, key):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / "staging"))

    monkeypatch.setattr(Store, "staging", disk_full)
    code, _, err = run_cli(capfd, _run(inputs, tmp_path / "store", tmp_path / "o.mp4"))
    assert code == 1 and "no space left" in error_line(err)
    try:
        code, _, err = run_cli(capfd, ["-v", *_run(inputs, tmp_path / "store", tmp_path / "o.mp4")])
    finally:
        cli._prefect_logs(verbose=False)
    assert code == 1 and "Traceback" in err  # what run_cli scans for
    assert not (tmp_path / "o.mp4").exists()
