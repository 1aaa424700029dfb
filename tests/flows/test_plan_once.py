"""One plan per command: a cache-miss run checks its inputs once, and the stages reuse what the
checks found, so the music is decoded once and the face detected once."""

from collections import Counter

from music2dance_cli.main import main
from tasks.align import face
from tasks.audio import decode
from tests.conftest import FAST


def test_cache_miss_run_decodes_the_audio_and_detects_the_face_once(inputs, tmp_path, monkeypatch):
    calls: Counter = Counter()

    def count(module, name: str) -> None:
        original = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    count(decode, "_decode")  # ffmpeg decoding the music file
    count(face, "_detections")  # the HOG face detector on the photo
    decode._checked_samples.cache_clear()  # earlier tests in this process saw the same files
    face._faces_in_file.cache_clear()
    argv = ["--store", tmp_path / "store", "run", "--audio", inputs["audio"], "--image"]
    argv += [inputs["image"], "--out", tmp_path / "o.mp4", *FAST]
    assert main([str(a) for a in argv]) == 0
    assert calls == {"_decode": 1, "_detections": 1}
