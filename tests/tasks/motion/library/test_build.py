"""`music2dance build-library` on tiny synthetic BVH, ASF/AMC and AIST++ files."""

import pickle
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from music2dance_cli.main import main
from tasks.body.skeleton import forward_kinematics
from tasks.motion.export import edge_pickle_dict
from tasks.motion.library.clips import load_library
from tests.tasks.motion.library.mocap_files import (
    default_root,
    smooth_rotations,
    write_asf_amc,
    write_bvh,
)


def _inputs(folder: Path) -> list[str]:
    folder.mkdir()
    write_bvh(folder / "house.bvh", smooth_rotations(61, 60.0), default_root(61, 60.0), 60.0)
    write_asf_amc(folder / "07.asf", folder / "07_03.amc", frames=121)  # 1 s at 120 fps
    rng = np.random.default_rng(0)
    aist = {
        "smpl_poses": (0.2 * rng.normal(size=(60, 72))).astype(np.float32),
        "smpl_trans": np.tile([0.0, 90.0, 0.0], (60, 1)).astype(np.float32),
        "smpl_scaling": np.array([100.0], np.float32),
    }
    with open(folder / "gBR_sBM_c01_d04_mBR0_ch01.pkl", "wb") as f:
        pickle.dump(aist, f)
    return [
        str(folder / "house.bvh"),
        str(folder / "07_03.amc"),
        str(folder / "gBR_sBM_c01_d04_mBR0_ch01.pkl"),
    ]


def test_build_library_writes_a_loadable_deterministic_library(tmp_path: Path, capsys):
    sources = _inputs(tmp_path / "mocap")
    out = tmp_path / "lib.npz"
    assert main(["build-library", *sources, "--out", str(out), "--style", "house"]) == 0
    assert "3 clips" in capsys.readouterr().out
    clips = {c.name: c for c in load_library(out)}
    assert sorted(clips) == ["07_03", "gBR_sBM_c01_d04_mBR0_ch01", "house"]
    assert {c.style for c in clips.values()} == {"house"}
    assert len(clips["house"].poses) == 31  # 1 s at 60 fps -> 30 fps
    assert len(clips["07_03"].poses) == 31  # 1 s at 120 fps (the default --fps)
    assert len(clips["gBR_sBM_c01_d04_mBR0_ch01"].poses) == 30  # AIST++: every 2nd frame
    for clip in clips.values():  # each faces -Y at its first frame
        forward = Rotation.from_rotvec(clip.poses[0, 0]).apply([0.0, 0.0, 1.0])[:2]
        np.testing.assert_allclose(forward / np.linalg.norm(forward), [0, -1], atol=1e-4)

    again = tmp_path / "again.npz"
    main(["build-library", *sources[::-1], "--out", str(again), "--style", "house"])
    assert again.read_bytes() == out.read_bytes()


def test_append_adds_clips_and_keeps_the_old_ones(tmp_path: Path):
    sources = _inputs(tmp_path / "mocap")
    out = str(tmp_path / "lib.npz")
    main(["build-library", sources[0], "--out", out, "--style", "house", "--prefix", "me/"])
    main(
        ["build-library", sources[1], "--out", out, "--style", "modern", "--append", "--fps", "60"]
    )
    clips = {c.name: c for c in load_library(out)}
    assert {n: c.style for n, c in clips.items()} == {"me/house": "house", "07_03": "modern"}
    assert len(clips["07_03"].poses) == 61  # read at 60 fps: 2 s


def test_an_exported_edge_pickle_comes_back_as_the_same_motion(tmp_path: Path):
    clip = next(c for c in load_library() if c.name == "cmu/93_05")
    poses, trans = clip.poses[:45], clip.trans[:45]
    with open(tmp_path / "mine.pkl", "wb") as f:
        pickle.dump(edge_pickle_dict(poses, trans, forward_kinematics(poses, trans)), f)
    out = str(tmp_path / "lib.npz")
    assert main(["build-library", str(tmp_path / "mine.pkl"), "--out", out]) == 0
    (again,) = load_library(out)
    # the same motion, up to the floor (re-estimated on this excerpt: millimetres)
    np.testing.assert_allclose(
        forward_kinematics(again.poses, again.trans), forward_kinematics(poses, trans), atol=0.01
    )


def test_bad_inputs_exit_2_with_the_fix(tmp_path: Path, capsys):
    (tmp_path / "walk.amc").write_text(":DEGREES\n1\nroot 0 0 0 0 0 0\n")
    assert (
        main(["build-library", str(tmp_path / "walk.amc"), "--out", str(tmp_path / "o.npz")]) == 2
    )
    assert "--asf" in capsys.readouterr().err
    (tmp_path / "bad.bvh").write_text("HIERARCHY\nROOT Hips\n{\n")
    assert main(["build-library", str(tmp_path / "bad.bvh"), "--out", str(tmp_path / "o.npz")]) == 2
    assert "BVH" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_partners_must_be_written_as_a_pair(tmp_path: Path, capsys):
    sources = _inputs(tmp_path / "mocap")
    args = ["build-library", *sources, "--out", str(tmp_path / "o.npz"), "--partners", "60"]
    assert main(args) == 2
    assert "A:B" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
