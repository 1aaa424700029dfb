"""SMPL bodies: chumpy-free loading, refusal of bad files, shaping, posing, rendering."""

import argparse
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import smplx
import torch
import zarr
from smplx.utils import Struct

from music2dance_cli import smpl as smpl_cli
from tasks.base import InputError, StageContext
from tasks.body.skeleton import PARENTS
from tasks.render.body import builtin_body, pose_body
from tasks.render.camera import fit_camera, project
from tasks.render.raster import part_maps, rasterize
from tasks.render.smpl import (
    convert_model,
    find_model_file,
    load_smpl_body,
    parse_betas,
    pose_smpl,
    read_model,
    shaped_rest,
    smpl_body,
)
from tasks.render.smpl_parts import parts_from_weights
from tasks.render.task import SPEC
from tests.stage_params import stage_params

UPRIGHT = np.array([np.pi / 2, 0.0, 0.0])
# smplx appends landmark joints at fixed real-SMPL vertex ids; the small synthetic mesh uses 0.
LANDMARKS = dict.fromkeys(
    ["nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
     "RSmallToe", "RHeel"] + [f"{s}{t}" for s in "lr" for t in ("thumb", "index", "middle",
                                                               "ring", "pinky")],
    0,
)  # fmt: skip


def _smplx_model(arrays: dict, num_betas: int) -> smplx.SMPL:
    return smplx.SMPL(
        model_path="", data_struct=Struct(**arrays), num_betas=num_betas, vertex_ids=LANDMARKS
    )


def _regressor(vertices: np.ndarray, joints: np.ndarray, near: int = 12) -> np.ndarray:
    """(24, V) affine weights over each joint's nearest vertices that reproduce `joints` exactly."""
    regressor = np.zeros((len(joints), len(vertices)))
    for j, joint in enumerate(joints):
        idx = np.argsort(np.linalg.norm(vertices - joint, axis=1))[:near]
        system = np.vstack([vertices[idx].T, np.ones(near)])
        regressor[j, idx] = np.linalg.lstsq(system, np.append(joint, 1.0), rcond=None)[0]
    return regressor


def synthetic_model(seed: int = 0, pose_scale: float = 1e-3) -> dict:
    """SMPL-format arrays on the built-in body's mesh: exact joint regressor, random blendshapes."""
    body = builtin_body(8, 0.06)
    rng = np.random.default_rng(seed)
    num_verts = len(body.vertices)
    kintree = np.stack([np.array(PARENTS) % 2**32, np.arange(24)])  # root parent: uint32 -1
    return {
        "v_template": body.vertices,
        "shapedirs": rng.normal(0.0, 0.01, (num_verts, 3, 10)),
        "posedirs": rng.normal(0.0, pose_scale, (num_verts, 3, 207)),
        "J_regressor": _regressor(body.vertices, body.joints),
        "weights": body.weights,
        "kintree_table": kintree.astype(np.uint32),
        "f": body.faces.astype(np.uint32),
    }


def _write_chumpy_pkl(path, arrays: dict, monkeypatch) -> None:
    """A pickle shaped like the official files: chumpy `Ch` shapedirs, sparse J_regressor."""
    chumpy, ch = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch.Ch, chumpy.ch = Ch, ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    data = {
        **arrays,
        "shapedirs": Ch(arrays["shapedirs"]),
        "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"]),
        "bs_style": "lbs",
    }
    # Module names as the official (numpy 1.x, old scipy) files spell them.
    raw = pickle.dumps(data, protocol=2)
    raw = raw.replace(b"scipy.sparse._csc\n", b"scipy.sparse.csc\n")
    path.write_bytes(raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")


@pytest.fixture(scope="module")
def arrays():
    return synthetic_model()


@pytest.fixture
def npz_path(tmp_path, arrays):
    path = tmp_path / "SMPL_NEUTRAL.npz"
    np.savez(path, **arrays)
    return path


def test_chumpy_pickle_and_npz_load_the_same(tmp_path, arrays, npz_path, monkeypatch):
    pkl = tmp_path / "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
    _write_chumpy_pkl(pkl, arrays, monkeypatch)
    assert "chumpy" not in sys.modules
    from_pkl, from_npz = read_model(pkl), read_model(npz_path)
    for key, value in from_npz.arrays().items():
        np.testing.assert_allclose(getattr(from_pkl, key), value, err_msg=key)
    np.testing.assert_allclose(from_npz.shapedirs, arrays["shapedirs"])
    assert from_npz.kintree_table[0, 0] == -1 and from_npz.f.dtype == np.int32
    # convert-smpl: .pkl -> plain .npz that loads without pickles.
    out = convert_model(pkl, tmp_path / "out" / "smpl.npz")
    with np.load(out, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(from_npz.arrays())
    np.testing.assert_allclose(read_model(out).J_regressor, arrays["J_regressor"])


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_payloads_are_refused(tmp_path):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": _Payload()}, protocol=2))
    with pytest.raises(InputError, match=r"SMPL_NEUTRAL\.pkl.*refusing to load (posix|os)\.system"):
        read_model(path)
    path.write_bytes(pickle.dumps({"f": types.SimpleNamespace(a=1)}))
    with pytest.raises(InputError, match="refusing to load types.SimpleNamespace"):
        read_model(path)


def test_missing_and_malformed_files_name_the_file(tmp_path, arrays):
    with pytest.raises(InputError, match="does not exist"):
        find_model_file(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no SMPL model file in"):
        find_model_file(tmp_path)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{**arrays, "weights": arrays["weights"][:, :22]})
    with pytest.raises(InputError, match=r"bad\.npz: weights has shape .* expected \(\d+, 24\)"):
        read_model(bad)
    np.savez(bad, **{k: v for k, v in arrays.items() if k != "posedirs"})
    with pytest.raises(InputError, match="bad.npz: not an SMPL model, missing posedirs"):
        read_model(bad)
    tree = arrays["kintree_table"].copy()
    tree[0, 5] = 0
    np.savez(bad, **{**arrays, "kintree_table": tree})
    with pytest.raises(InputError, match="24-joint tree"):
        read_model(bad)
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(InputError, match="junk.pkl: not a readable SMPL model pickle"):
        read_model(tmp_path / "junk.pkl")
    for junk in (b"PK nope", b"PK\x03\x04 truncated zip"):
        (tmp_path / "junk.npz").write_bytes(junk)
        with pytest.raises(InputError, match="junk.npz: not a readable SMPL .npz"):
            read_model(tmp_path / "junk.npz")


def test_model_file_is_found_in_a_folder(tmp_path, npz_path):
    assert find_model_file(tmp_path) == npz_path
    assert find_model_file(npz_path) == npz_path


def test_betas_parse_and_are_bounded():
    np.testing.assert_allclose(parse_betas([1, -0.5], 10), [1.0, -0.5])
    np.testing.assert_allclose(parse_betas("0.5, 2", 10), [0.5, 2.0])
    assert parse_betas(None, 10).shape == (0,) and parse_betas([], 10).shape == (0,)
    with pytest.raises(InputError, match="at most 10"):
        parse_betas([0.0] * 11, 10)
    with pytest.raises(InputError, match="list of numbers"):
        parse_betas(["tall"], 10)


def test_shape_matches_smplx(npz_path, arrays):
    model = read_model(npz_path)
    betas = np.array([1.5, -1.0, 0.5])
    vertices, joints = shaped_rest(model, betas)
    reference = _smplx_model(arrays, 3)
    with torch.no_grad():
        out = reference(betas=torch.tensor(betas, dtype=torch.float32)[None])
    np.testing.assert_allclose(vertices, out.vertices[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(joints, out.joints[0, :24].numpy(), atol=1e-5)


def test_pose_matches_smplx_when_the_skeletons_agree(npz_path, arrays):
    """With betas 0 the synthetic regressor gives EDGE's rest joints, so smplx's LBS (pose
    correctives included) and ours must agree; the root translation is the pelvis position."""
    model = read_model(npz_path)
    body = smpl_body(model, np.zeros(0), np.ones(len(model.f)))
    rng = np.random.default_rng(1)
    poses = rng.normal(0.0, 0.4, (3, 24, 3))
    poses[:, 0] += UPRIGHT
    trans = rng.normal(0.0, 1.0, (3, 3))
    verts, joints = pose_smpl(body, poses, trans)
    reference = _smplx_model(arrays, 10)
    pose = torch.tensor(poses, dtype=torch.float32)
    with torch.no_grad():
        out = reference(
            global_orient=pose[:, 0],
            body_pose=pose[:, 1:].reshape(3, 69),
            transl=torch.tensor(trans - body.joints[0], dtype=torch.float32),
        )
    np.testing.assert_allclose(verts, out.vertices.numpy(), atol=2e-4)
    np.testing.assert_allclose(joints, out.joints[:, :24].numpy(), atol=2e-4)


def test_without_correctives_smpl_follows_the_builtin_body(tmp_path):
    arrays = synthetic_model(pose_scale=0.0)
    np.savez(tmp_path / "m.npz", **arrays)
    body = smpl_body(read_model(tmp_path / "m.npz"), np.zeros(0), np.ones(len(arrays["f"])))
    builtin = builtin_body(8, 0.06)
    rng = np.random.default_rng(2)
    poses, trans = rng.normal(0.0, 0.5, (2, 24, 3)), rng.normal(0.0, 1.0, (2, 3))
    verts, joints = pose_smpl(body, poses, trans)
    expected, expected_joints = pose_body(builtin, poses, trans)
    np.testing.assert_allclose(verts, expected, atol=1e-4)
    np.testing.assert_allclose(joints, expected_joints, atol=1e-6)


def test_upright_smpl_renders_framed_with_all_parts(npz_path):
    body = load_smpl_body(str(npz_path.parent), [0.5, -0.5])
    poses = np.zeros((2, 24, 3))
    poses[:, 0] = UPRIGHT
    trans = np.array([[0.0, 0.0, 1.0], [0.3, 0.0, 1.0]])
    verts, _ = pose_smpl(body, poses, trans)
    assert verts[0, :, 2].max() - verts[0, :, 2].min() > 1.5  # z-up, standing
    camera = fit_camera(verts.min(1), verts.max(1), trans, height=128, width=72, margin=0.05,
                        follow=False)  # fmt: skip
    parts = part_maps(rasterize(project(verts, camera, slice(0, 2)), body.faces, 128, 72),
                      body.face_parts)  # fmt: skip
    assert len(np.unique(parts[0])) >= 15
    border = np.concatenate([parts[:, 0], parts[:, -1], parts[:, :, 0].ravel()[None]], axis=None)
    assert not border.any()  # whole body in frame
    # The body faces the camera (-Y): its front torso (2) is visible, its back (1) is not.
    assert (parts[0] == 2).sum() > 20 * max(1, (parts[0] == 1).sum())
    # Its left (SMPL +x) is on image right.
    cols = np.nonzero(parts[0] == 4)[1].mean(), np.nonzero(parts[0] == 3)[1].mean()
    assert cols[0] > cols[1]


def test_full_size_smpl_shapes_load_pose_and_rasterize(tmp_path):
    rng = np.random.default_rng(3)
    num_verts, num_faces = 6890, 13776
    weights = rng.dirichlet(np.ones(24) * 0.1, num_verts)
    arrays = {
        "v_template": rng.normal(0.0, 0.3, (num_verts, 3)),
        "shapedirs": rng.normal(0.0, 0.01, (num_verts, 3, 10)).astype(np.float32),
        "posedirs": rng.normal(0.0, 1e-3, (num_verts, 3, 207)).astype(np.float32),
        "J_regressor": weights.T / weights.sum(axis=0)[:, None],
        "weights": weights,
        "kintree_table": synthetic_model()["kintree_table"],
        "f": rng.integers(0, num_verts, (num_faces, 3)).astype(np.uint32),
    }
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **arrays)
    body = load_smpl_body(tmp_path, "1.0,0.5")
    assert body.vertices.shape == (6890, 3) and body.faces.shape == (13776, 3)
    poses = np.zeros((2, 24, 3))
    poses[:, 0] = UPRIGHT
    verts, joints = pose_smpl(body, poses, np.zeros((2, 3)))
    assert verts.shape == (2, 6890, 3) and joints.shape == (2, 24, 3)
    camera = fit_camera(verts.min(1), verts.max(1), np.zeros((2, 3)), height=64, width=64,
                        margin=0.1, follow=False)  # fmt: skip
    face_ids = rasterize(project(verts, camera, slice(0, 2)), body.faces, 64, 64)
    assert (face_ids >= 0).mean() > 0.2


def test_render_stage_with_smpl_body(tmp_path, npz_path):
    motion = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    poses = np.zeros((9, 24, 3), dtype=np.float32)
    poses[:, 0] = UPRIGHT
    poses[:, 16, 2] = np.linspace(0, 1.2, 9)
    trans = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (9, 1))
    motion.create_array("poses", data=poses)
    motion.create_array("trans", data=trans)
    motion.attrs.update({"fps": 30, "num_frames": 9})
    params = stage_params(
        "render", body="smpl", resolution=64, aspect="square", preview=False,
        smpl_dir=str(npz_path), betas=[0.3],
    )  # fmt: skip
    out = zarr.open_group(zarr.storage.MemoryStore(), mode="w")
    SPEC.compute(
        StageContext(params=params, upstream={"motion": motion}, out=out, workdir=tmp_path)
    )
    assert out["parts"].shape == (9, 64, 64) and out.attrs["body"] == "smpl"
    parts = out["parts"][:]
    assert len(np.unique(parts)) > 12
    x, y = np.round(out["joints2d"][4, 0]).astype(int)  # pelvis lands on the torso
    assert parts[4, y, x] in (1, 2)


def test_weights_labels_are_used_when_no_uv_file(npz_path, arrays):
    body = load_smpl_body(npz_path, None)
    expected = parts_from_weights(
        arrays["v_template"], arrays["f"].astype(np.int64), arrays["weights"],
        read_model(npz_path).J_regressor @ arrays["v_template"],
    )  # fmt: skip
    np.testing.assert_array_equal(body.face_parts, expected)


def test_uv_file_labels_when_given(tmp_path, npz_path, arrays):
    faces = arrays["f"].astype(np.int64)
    labels = (np.arange(len(faces)) % 24 + 1).astype(np.uint8)
    scipy.io.savemat(
        tmp_path / "UV_Processed.mat",
        {
            "All_FaceIndices": labels[:, None],
            "All_Faces": faces + 1,
            "All_vertices": np.arange(1, len(arrays["v_template"]) + 1)[None],
            "All_U_norm": np.zeros((len(arrays["v_template"]), 1)),
            "All_V_norm": np.zeros((len(arrays["v_template"]), 1)),
        },
    )
    body = load_smpl_body(npz_path, [], tmp_path / "UV_Processed.mat")
    np.testing.assert_array_equal(body.face_parts, labels)


def test_convert_smpl_command(tmp_path, npz_path, arrays, capsys):
    parser = argparse.ArgumentParser()
    smpl_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert-smpl", str(npz_path), str(tmp_path / "plain.npz")])
    assert args.func(args) == 0
    np.testing.assert_allclose(read_model(tmp_path / "plain.npz").posedirs, arrays["posedirs"])
    assert "plain.npz" in capsys.readouterr().out
    args = parser.parse_args(["convert-smpl", str(tmp_path / "missing.pkl"), "x.npz"])
    with pytest.raises(InputError, match="missing.pkl does not exist"):
        args.func(args)
