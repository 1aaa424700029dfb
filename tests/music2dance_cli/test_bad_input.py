"""Bad input: a one-line error naming the problem, exit code 2, and the store left untouched; no
traceback or Prefect record in stderr (`run_cli` scans it)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tasks.audio.synth import synth_music, write_wav
from tests.conftest import FAST, SR

from .clirun import error_line, run_cli


def snapshot(store: Path) -> set[str]:
    return {str(p.relative_to(store)) for p in store.rglob("*")} if store.exists() else set()


@pytest.fixture(scope="module")
def bad(inputs) -> dict[str, Path]:
    root = inputs["root"] / "bad"
    root.mkdir()
    (root / "notes.txt").write_text("not music at all\n" * 50)
    (root / "random.mp3").write_bytes(np.random.default_rng(0).bytes(20000))
    full = inputs["audio"].read_bytes()
    (root / "truncated.wav").write_bytes(full[: len(full) // 2])
    write_wav(root / "silent.wav", np.zeros(SR * 3, dtype=np.float32), SR)
    write_wav(root / "short.wav", synth_music(seconds=1.0, bpm=120, seed=0, sample_rate=SR), SR)
    gradient = np.tile(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], (256, 1, 3))
    Image.fromarray(gradient).save(root / "noface.png")
    Image.fromarray(gradient[:40, :40]).save(root / "tiny.png")
    return root


CASES = {
    "missing-audio": ("nowhere.wav", "image", [], "not found"),
    "missing-image": ("audio", "nowhere.png", [], "not found"),
    "text-as-audio": ("notes.txt", "image", [], "audio"),
    "corrupt-audio": ("random.mp3", "image", [], "audio"),
    "truncated-audio": ("truncated.wav", "image", [], "truncated"),
    "silent-audio": ("silent.wav", "image", [], "silent"),
    "short-audio": ("short.wav", "image", [], "2"),
    "no-face": ("audio", "noface.png", [], "no face"),
    "tiny-image": ("audio", "tiny.png", [], "small"),
    "non-image": ("audio", "notes.txt", [], "image"),
    "unknown-key": ("audio", "image", ["--set", "motion.sede=3"], "unknown key motion.sede"),
    "out-of-range": ("audio", "image", ["--set", "render.resolution=100000"], "maximum"),
    "bad-type": ("audio", "image", ["--set", "motion.seed=abc"], "int"),
    "no-animate-weights": ("audio", "image", ["--set", "animate.model=magicanimate"], "weights"),
    "no-edge-checkpoint": ("audio", "image", ["--set", "motion.model=edge"], "checkpoint"),
    "no-smpl-files": ("audio", "image", ["--set", "render.body=smpl"], "smpl_dir"),
    "weights-not-found": (
        "audio",
        "image",
        ["--set", "animate.model=magicanimate", "--set", "animate.weights=/nope/ma"],
        "not found",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line(case, inputs, bad, tmp_path, capfd):
    audio, image, extra, needle = CASES[case]
    audio = inputs["audio"] if audio == "audio" else bad / audio
    image = inputs["image"] if image == "image" else bad / image
    store = tmp_path / "store"
    before = snapshot(store)
    argv = ["--store", str(store), "run", "--audio", str(audio), "--image", str(image)]
    code, _, err = run_cli(capfd, argv + ["--out", str(tmp_path / "o.mp4")] + FAST + extra)
    assert code == 2
    assert needle.lower() in error_line(err).lower()
    assert snapshot(store) == before
    assert not (tmp_path / "o.mp4").exists()
