"""A damaged artifact is never used: a run checks what it reads and recomputes what is damaged;
`cache verify` evicts folders without a MANIFEST and what was built from them; the next run
rebuilds them."""

import json

from artifacts.store import MANIFEST, Store
from tests.conftest import FAST

from .clirun import run_cli


def _flip_byte(path) -> bytes:
    """Flip one byte in the middle of `path`; returns the good bytes."""
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    path.write_bytes(bytes(bad))
    return good


def _largest_chunk(store: Store, stage: str, key: str):
    files = json.loads((store.path(stage, key) / MANIFEST).read_text())["files"]
    return store.path(stage, key) / max((n for n in files if "/c/" in n), key=lambda n: files[n][0])


def test_damaged_artifacts_are_recomputed_from_good_data_never_used(inputs, tmp_path, capfd):
    store = Store(tmp_path / "store")
    report = tmp_path / "report.json"

    def run(*extra: str) -> tuple[dict[str, dict], str]:
        argv = ["run", "--audio", inputs["audio"], "--image", inputs["image"], *FAST]
        argv += ["--out", tmp_path / "o.mp4", "--report", report, "--store", store.root, *extra]
        code, _, err = run_cli(capfd, argv)
        assert code == 0, err
        return {s["name"]: s for s in json.loads(report.read_text())["stages"]}, err

    first, _ = run()
    key = {name: s["key"] for name, s in first.items()}
    chunk = _largest_chunk(store, "align", key["align"])
    good = _flip_byte(chunk)

    # animate is new (crf): it reads align, which is found damaged and recomputed, not `cached`
    second, err = run("--set", "animate.crf=30")
    assert [n for n, s in second.items() if not s["cached"]] == ["align", "animate"]
    assert len([line for line in err.splitlines() if "damaged" in line and "align" in line]) == 1
    assert chunk.read_bytes() == good  # recomputed byte for byte
    manifests = store.lineage("animate", second["animate"]["key"])["upstream_manifests"]
    assert manifests["align"] == store.manifest_digest("align", key["align"])

    # a fully cached run outputs only checked data: a damaged video is recomputed, not copied
    video = store.path("animate", second["animate"]["key"]) / "video.mp4"
    _flip_byte(video)
    third, _ = run("--set", "animate.crf=30")
    assert [n for n, s in third.items() if not s["cached"]] == ["animate"]
    assert store.verify_one("animate", third["animate"]["key"]) is None
    assert (tmp_path / "o.mp4").read_bytes() == video.read_bytes()

    # a MANIFEST deleted: `cache verify` evicts it and everything built from it; rerun rebuilds
    (store.path("motion", key["motion"]) / MANIFEST).unlink()
    code, out, _ = run_cli(capfd, ["cache", "verify", "--store", store.root])
    assert code == 1 and f"motion     {key['motion'][:12]}  no valid MANIFEST" in out
    assert sorted(stage for stage, _, _ in store.records()) == ["audio"]
    fourth, _ = run()
    assert [n for n, s in fourth.items() if s["cached"]] == ["audio"]
    assert store.verify(evict=False) == []
