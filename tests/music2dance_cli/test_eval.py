"""`music2dance eval` on a tiny published run: CSV, Markdown table, plots, set metrics."""

import argparse
import hashlib
import json

import cv2
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
from skimage import data

import params
from artifacts.store import Store
from music2dance_cli import evaluate
from tasks.base import InputError

FPS = 30
SIZE = 256
DEFAULTS = {
    "evaluate": {
        "identity_stride": 2, "body_stride": 2, "contact_height": 0.05, "skate_speed": 0.75
    },
    "gates": {"pfc_max": 5.0, "bas_min": 0.1, "identity_max": 0.6, "foot_skating_max": None}
    | dict.fromkeys(("coverage_min", "leftovers_max", "fragments_max", "fill_quality_min",
                     "background_change_max")),  # body gates: tests/tasks/evaluate/test_body_*
}  # fmt: skip


def publish(store: Store, stage: str, arrays: dict, attrs: dict) -> dict:
    key = hashlib.sha256(stage.encode()).hexdigest()
    with store.staging(stage, key) as (tmp, group):
        for name, value in arrays.items():
            group.create_array(name, shape=value.shape, dtype=value.dtype)[...] = value
        group.attrs.update(attrs)
    store.publish(tmp, stage, key)
    return {"name": stage, "key": key, "cached": False, "seconds": 0.1}


def write_mp4(path, frames) -> None:
    writer = imageio_ffmpeg.write_frames(str(path), (SIZE, SIZE), fps=FPS, macro_block_size=16)
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """A published run (audio, motion, align, animate) of 60 frames and its report."""
    monkeypatch.setattr(params, "load_defaults", lambda: DEFAULTS)
    store = Store(tmp_path / "store")
    t = np.arange(60)
    step = 0.01 * (1 - np.cos(2 * np.pi * t[:-1] / 15))  # a motion beat every 15 frames
    joints = np.zeros((60, 24, 3))
    joints[..., 0] = np.concatenate([[0.0], np.cumsum(step)])[:, None]
    joints[:, 15, 2] = 1.6
    photo = cv2.resize(data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    frames = np.repeat(photo[None], 6, axis=0)
    parts = np.zeros((6, SIZE, SIZE), np.uint8)
    parts[:, 40:200, 60:200] = 2  # a driving torso where the photo's person stands
    stages = [
        publish(store, "audio", {"beats": np.array([0.5, 1.0, 1.5])}, {"fps": FPS}),
        publish(store, "motion", {"joints": joints.astype(np.float32)}, {"fps": FPS, "model": "c"}),
        publish(store, "align", {"reference": photo, "parts": parts}, {"fps": FPS}),
        publish(store, "animate", {"frames": frames}, {"fps": FPS, "model": "preview"}),
    ]
    write_mp4(tmp_path / "video.mp4", frames)
    noisy = np.clip(frames.astype(int) + 8, 0, 255).astype(np.uint8)
    write_mp4(tmp_path / "gt.mp4", noisy)
    report = tmp_path / "run.json"
    report.write_text(
        json.dumps(
            {"output": str(tmp_path / "video.mp4"), "store": str(store.root), "stages": stages}
        )
    )
    return report


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default="unused")
    evaluate.register(parser.add_subparsers())
    args = parser.parse_args(["eval", *argv])
    return args.func(args)


def test_eval_one_run_with_ground_truth(run, tmp_path):
    out = tmp_path / "eval"
    assert cli(str(run), "--out", str(out), "--gt", str(tmp_path / "gt.mp4")) == 0
    row = pd.read_csv(out / "metrics.csv").iloc[0]
    assert row["clip"] == "run" and row["method"] == "c+preview" and bool(row["passed"])
    assert 25 < row["psnr"] < 45 and 0.5 < row["ssim"] <= 1.0  # +8 grey levels, then H.264
    assert row["identity"] == pytest.approx(0.0, abs=1e-6) and row["identity_missing"] == 0.0
    assert row["bas"] == pytest.approx(1.0)  # beats at frames 15, 30, 45 = motion beats
    table = (out / "metrics.md").read_text().splitlines()
    assert (
        table[0]
        == "| Method | PSNR↑ | SSIM↑ | LPIPS↓ | FID-VID↓ | FVD↓ | BAS↑ | PFC↓ | identity↓ | "
        "coverage↑ | leftovers↓ | fragments↓ | fill↑ | gates |"
    )
    assert "| n/a | n/a | 1.0000 |" in table[2] and table[2].endswith("| pass |")
    assert 0.0 <= row["coverage"] <= 1.0 and row["fragments"] == 0.0
    for png in ("beats.png", "contact_sheet.png"):
        blob = (out / "run" / png).read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000


def test_eval_dataset_index_with_reference_motions(run, tmp_path):
    pd.DataFrame({"report": [run.name, run.name], "clip": ["a", "b"]}).to_csv(
        tmp_path / "index.csv", index=False
    )
    refs = tmp_path / "refs"
    refs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        np.savez(refs / f"{i}.npz", joints=rng.normal(0, 0.3, (40, 24, 3)))
    out = tmp_path / "eval"
    code = cli(str(tmp_path / "index.csv"), "--out", str(out), "--reference-motions", str(refs),
               "--set", "gates.pfc_max=0.5")  # fmt: skip
    assert code == 1  # a failed gate flags the rows (and the exit code); nothing is dropped
    rows = pd.read_csv(out / "metrics.csv")
    assert rows["clip"].tolist() == ["a", "b"]
    assert rows["gates_failed"].tolist() == ["pfc_max", "pfc_max"] and not rows["passed"].any()
    md = (out / "metrics.md").read_text().splitlines()
    assert md[4].startswith("| mean |") and md[4].endswith("| 0/2 pass |")
    assert md[6] == "| Set | FID_k | FID_g | Div_k | Div_g |"
    fid_k, fid_g, div_k, div_g = (float(v) for v in md[8].strip("| ").split(" | ")[1:])
    assert 0 < fid_k < 1e6 and 0 < fid_g < 1e6  # finite: constant features are only centred
    assert div_k == div_g == 0.0  # two identical clips


def test_eval_refuses_missing_weights_and_missing_artifacts(run, tmp_path):
    with pytest.raises(InputError, match="--fvd-weights"):
        cli(str(run), "--out", str(tmp_path / "e"), "--fvd-weights", str(tmp_path / "none.pt"))
    from tests.tasks.evaluate.test_lpips import weights_folder

    weights = str(weights_folder(tmp_path, "alex"))
    with pytest.raises(InputError, match="pass --gt"):
        cli(str(run), "--out", str(tmp_path / "e"), "--lpips-weights", weights)
    report = json.loads(run.read_text())
    report["store"] = str(tmp_path / "elsewhere")
    run.write_text(json.dumps(report))
    with pytest.raises(InputError, match="is not in"):
        cli(str(run), "--out", str(tmp_path / "e"))


def test_eval_lpips_with_user_weights(run, tmp_path):
    from tests.tasks.evaluate.test_lpips import weights_folder

    out = tmp_path / "eval"
    weights = weights_folder(tmp_path, "alex")
    gt = str(tmp_path / "gt.mp4")
    assert cli(str(run), "--out", str(out), "--gt", gt, "--lpips-weights", str(weights)) == 0
    row = pd.read_csv(out / "metrics.csv").iloc[0]
    assert 0 < row["lpips"] < 0.5  # +8 grey levels: close, not identical


def test_eval_set_level_fid_vid_with_user_weights(run, tmp_path):
    from tests.tasks.evaluate.test_resnet3d import checkpoint

    truths = [str(tmp_path / "gt.mp4"), str(tmp_path / "video.mp4")]
    index = {"report": [run.name] * 2, "clip": ["a", "b"], "gt": truths}
    pd.DataFrame(index).to_csv(tmp_path / "index.csv", index=False)
    weights = checkpoint(tmp_path / "resnet-50-kinetics.pth")
    out = tmp_path / "eval"
    cli(str(tmp_path / "index.csv"), "--out", str(out), "--fid-vid-weights", str(weights))
    md = (out / "metrics.md").read_text().splitlines()
    names = [c.strip() for c in md[6].strip("|").split("|")]
    values = [c.strip() for c in md[8].strip("|").split("|")]
    fid_vid = float(values[names.index("FID-VID")])
    assert np.isfinite(fid_vid) and fid_vid > 0  # clip a is compared with a brighter truth
