"""convert-aist: raw AIST++ pickles + music -> the clips train-motion reads, EDGE's frame and
split, and pickles that try to run code are refused."""

import os
import pickle
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from music2dance_cli import main as cli
from tasks.audio.synth import synth_music, write_wav
from tasks.base import InputError
from tasks.body.skeleton import UPRIGHT
from tasks.motion.edge.dataset import convert_aist
from tasks.motion.edge.train import load_clips
from tests.tasks.motion.edge.fake_jukemirlib import install, weights_dir

SEQ = ["gBR_sBM_cAll_d04_mBR0_ch01", "gPO_sBM_cAll_d10_mPO1_ch02"]


def write_aist(root, frames60: int = 400):
    """Two raw AIST++ motions (y-up, 60 fps, scaled trans), music named by music id, a split."""
    rng = np.random.default_rng(0)
    (root / "motions").mkdir(parents=True)
    (root / "wavs").mkdir()
    (root / "splits").mkdir()
    for seed, name in enumerate(SEQ):
        motion = {
            "smpl_poses": rng.normal(0, 0.2, (frames60, 72)).astype(np.float32),
            "smpl_trans": rng.normal(0, 50, (frames60, 3)).astype(np.float32),
            "smpl_scaling": np.array([93.0], np.float32),
        }
        with open(root / "motions" / f"{name}.pkl", "wb") as f:
            pickle.dump(motion, f)
        music_id = name.split("_")[4]
        write_wav(root / "wavs" / f"{music_id}.wav", synth_music(8.0, 120, seed, 22050), 22050)
    (root / "splits" / "crossmodal_train.txt").write_text("\n".join(SEQ) + "\n")
    (root / "splits" / "ignore_list.txt").write_text(SEQ[1] + "\n")
    return root


def test_converted_clips_are_edge_frame_and_train_ready(tmp_path):
    root = write_aist(tmp_path / "aist")
    code = cli.main(["convert-aist", str(root), str(tmp_path / "clips"), "--split", "all"])
    assert code == 0
    clip = np.load(tmp_path / "clips" / f"{SEQ[0]}.npz")
    assert clip["poses"].shape == (200, 72) and clip["features"].shape == (200, 35)
    with open(root / "motions" / f"{SEQ[0]}.pkl", "rb") as f:
        raw = pickle.load(f)  # the test's own file
    expected = UPRIGHT.apply(raw["smpl_trans"][::2].astype(np.float64) / 93.0)
    np.testing.assert_allclose(clip["trans"], expected, atol=1e-5)
    root_rot = Rotation.from_rotvec(clip["poses"][:, :3].astype(np.float64))
    expected_rot = UPRIGHT * Rotation.from_rotvec(raw["smpl_poses"][::2, :3].astype(np.float64))
    assert np.all((root_rot.inv() * expected_rot).magnitude() < 1e-5)
    np.testing.assert_array_equal(clip["poses"][:, 3:], raw["smpl_poses"][::2, 3:])
    motion, cond = load_clips(tmp_path / "clips")
    assert motion.shape[1:] == (150, 151) and cond.shape[1:] == (150, 35) and len(motion) >= 2


def test_jukebox_clips_for_fine_tuning_the_released_checkpoint(monkeypatch, tmp_path):
    """--features jukebox: (T, 4800) per frame; each song's windows are extracted once and a
    rerun reuses the window cache."""
    calls = install(monkeypatch)
    monkeypatch.setenv("MUSIC2DANCE_FEATURE_CACHE", str(tmp_path / "cache"))
    root = write_aist(tmp_path / "aist")
    weights = weights_dir(tmp_path / "jukebox")
    args = ["convert-aist", str(root), str(tmp_path / "clips"), "--split", "all"]
    assert cli.main([*args, "--features", "jukebox", "--jukebox-dir", str(weights)]) == 0
    assert len(calls.extract) == 4  # 2 songs x 2 windows for 200 frames
    clip = np.load(tmp_path / "clips" / f"{SEQ[1]}.npz")
    assert clip["features"].shape == (200, 4800) and clip["poses"].shape == (200, 72)
    motion, cond = load_clips(tmp_path / "clips")
    assert cond.shape[1:] == (150, 4800) and len(motion) == len(cond) == 8
    convert_aist(root, tmp_path / "again", "all", "jukebox", weights)
    assert len(calls.extract) == 4
    np.testing.assert_array_equal(np.load(tmp_path / "again" / f"{SEQ[1]}.npz")["features"],
                                  clip["features"])  # fmt: skip


def test_jukebox_features_without_jukemirlib_name_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "jukemirlib", None)
    root = write_aist(tmp_path / "aist")
    code = cli.main(["convert-aist", str(root), str(tmp_path / "clips"), "--features", "jukebox"])
    assert code == 2 and "pip install 'music2dance[jukebox]'" in capsys.readouterr().err
    assert not (tmp_path / "clips").exists()


def test_split_files_and_ignore_list_are_followed(tmp_path):
    root = write_aist(tmp_path / "aist")
    written = convert_aist(root, tmp_path / "train", "train")
    assert [p.stem for p in written] == [SEQ[0]]  # SEQ[1] is on the ignore list
    with pytest.raises(InputError, match="crossmodal_test.txt"):
        convert_aist(root, tmp_path / "test", "test")


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    root = write_aist(tmp_path / "aist")
    with open(root / "motions" / f"{SEQ[0]}.pkl", "wb") as f:
        pickle.dump({"smpl_poses": Payload()}, f)
    with pytest.raises(InputError, match="refusing to load"):
        convert_aist(root, tmp_path / "clips", "all")
