"""The web app in a real browser: headless Debian Chromium driven by Playwright uploads a 3 s clip
and the astronaut photo, runs, plays the result, runs again (all cached) and shows a bad upload's
message. The server is a subprocess on 127.0.0.1 with its own store and an empty working folder."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.runners import free_port, wait_until
from tasks.animate.video import probe_video

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_MS = 150_000  # a ceiling: the run takes ~20 s on 2 idle cores

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


sync_playwright = pytest.importorskip(
    "playwright.sync_api", reason="needs playwright (pip install playwright)"
).sync_playwright


def wait_ready(url: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Until the page answers 200 or the server process dies."""

    def answered() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(answered, seconds, "the web app")
    except TimeoutError:
        pytest.fail(f"server not ready after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("webapp")
    store, cwd, tmp = root / "store", root / "cwd", root / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    port = free_port()
    log = root / "server.log"
    code = f"from webapp.app import serve; serve({str(store)!r}, port={port})"
    env = os.environ | {"PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_ready(url, proc, log)
        yield {"url": url, "store": store, "cwd": cwd, "tmp": tmp, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def files(inputs) -> dict[str, Path]:
    """The shared demo inputs (tests/conftest.py)."""
    return {"audio": inputs["audio"], "image": inputs["image"], "text": inputs["notes"]}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{elem_id}").get_by_text(path.stem).first.wait_for(timeout=15_000)


def video_duration(page, selector: str) -> float:
    return page.eval_on_selector(
        selector,
        """v => new Promise((resolve, reject) => {
            if (v.readyState >= 1) return resolve(v.duration);
            v.addEventListener('loadedmetadata', () => resolve(v.duration));
            v.addEventListener('error', () => reject(new Error('video failed to load')));
        })""",
    )


def test_upload_run_play_and_rerun_cached(server, files, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.goto(server["url"])
    upload(page, "music", files["audio"])
    upload(page, "photo", files["image"])
    number = page.locator("#resolution input[type=number]")
    number.fill("128")
    number.press("Enter")
    page.click("#run")
    page.locator("#result video").wait_for(timeout=RUN_TIMEOUT_MS)
    assert abs(video_duration(page, "#result video") - 3.0) < 0.1
    assert abs(video_duration(page, "#driving video") - 3.0) < 0.1
    assert not page.eval_on_selector("#result video", "v => v.muted")
    served = tmp_path / "served.mp4"
    served.write_bytes(httpx.get(page.eval_on_selector("#result video", "v => v.src")).content)
    info = probe_video(served)
    assert info["audio_streams"] == 1 and abs(info["duration"] - 3.0) < 0.1
    status = page.locator("#status").inner_text()
    assert "ran audio, motion, render, densepose, align, animate." in status
    progress = page.locator("#progress").inner_text()
    assert progress.count("done") == 6
    page.locator("#beats img").wait_for()
    page.locator("#face img").wait_for()
    names = page.locator("#downloads").inner_text().replace("\n", "")
    for name in ("video.mp4", "motion.npz", "motion.pkl", "motion.bvh", "run.json"):
        assert name in names
    shot = tmp_path / "webapp.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.click("#run")
    page.get_by_text("every stage was cached").wait_for(timeout=20_000)
    assert page.locator("#progress").inner_text().count("cached") == 6
    page.close()
    # Nothing outside the store: the working folder stays empty, uploads live under the store.
    assert list(server["cwd"].iterdir()) == []
    assert list(server["tmp"].iterdir()) == []
    assert list((server["store"] / "webapp" / "uploads").rglob(files["audio"].name))


def test_text_file_as_music_shows_the_input_error(server, files, browser):
    page = browser.new_page()
    page.goto(server["url"])
    upload(page, "music", files["text"])
    upload(page, "photo", files["image"])
    page.click("#run")
    page.locator("#status").get_by_text("Error").wait_for(timeout=20_000)
    text = page.locator("#status").inner_text()
    assert "notes.txt" in text and "audio" in text
    assert "Traceback" not in page.content()
    page.close()


def test_huge_uploads_and_files_outside_the_store_are_refused_by_the_server(server, tmp_path):
    huge = tmp_path / "huge.wav"
    with open(huge, "wb") as f:
        f.truncate(51 * 2**20)
    with open(huge, "rb") as f:
        response = httpx.post(
            server["url"] + "gradio_api/upload", files={"files": ("huge.wav", f)}, timeout=60
        )
    assert response.status_code == 413 and "maximum allowed size" in response.text
    assert not list((server["store"] / "webapp").rglob("huge.wav"))
    secret = server["cwd"] / "secret.txt"
    secret.write_text("not for the web")
    try:
        for path in (secret, ROOT / "README.md", server["store"] / "artifacts"):
            assert httpx.get(f"{server['url']}gradio_api/file={path}").status_code == 403
    finally:
        secret.unlink()
