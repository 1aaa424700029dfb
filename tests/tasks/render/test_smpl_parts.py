"""DensePose part labels of SMPL faces: from UV_Processed.mat, and derived from skinning weights."""

import numpy as np
import pytest
import scipy.io

from tasks.base import InputError
from tasks.render.body import builtin_body
from tasks.render.smpl_parts import parts_from_uv, parts_from_weights, read_uv_processed


@pytest.fixture(scope="module")
def body():
    return builtin_body(12, 0.04)


def write_uv_mat(path, faces: np.ndarray, parts: np.ndarray, drop: int, seed: int = 0) -> None:
    """A UV_Processed.mat like DensePose's: seam-split vertices, shuffled faces, `drop` left out."""
    rng = np.random.default_rng(seed)
    num_verts = faces.max() + 1
    # Every vertex once, a third of them twice more (seam copies), in random order.
    split = rng.permutation(np.concatenate([np.arange(num_verts)] + [rng.choice(
        num_verts, num_verts // 3, replace=False)] * 2))  # fmt: skip
    copies = [np.flatnonzero(split == v) for v in range(num_verts)]
    keep = rng.permutation(len(faces))[drop:]
    dp_faces = np.array([[rng.choice(copies[v]) for v in faces[f]] for f in keep])
    scipy.io.savemat(
        path,
        {
            "All_FaceIndices": parts[keep, None].astype(np.uint8),
            "All_Faces": (dp_faces + 1).astype(np.int32),
            "All_vertices": (split + 1)[None].astype(np.uint32),
            "All_U_norm": rng.uniform(0, 1, (len(split), 1)),
            "All_V_norm": rng.uniform(0, 1, (len(split), 1)),
        },
    )


def test_weights_labels_reproduce_the_builtin_parts(body):
    """The built-in body's tube labels are ground truth; faces in its 50/50 blend zones at the
    joints may go either way, so agreement is high but not total."""
    parts = parts_from_weights(body.vertices, body.faces, body.weights, body.joints)
    assert parts.dtype == np.uint8 and set(np.unique(parts)) == set(range(1, 25))
    assert (parts == body.face_parts).mean() > 0.8
    for part in range(1, 25):
        assert (parts[body.face_parts == part] == part).mean() > 0.75, part
    # Front/back and left/right splits are right wherever the segment itself is.
    for pair in ((2, 1), (9, 7), (10, 8), (13, 11), (14, 12), (15, 17), (21, 19), (24, 23)):
        same_segment = np.isin(parts, pair) & np.isin(body.face_parts, pair)
        assert (parts[same_segment] == body.face_parts[same_segment]).mean() > 0.95, pair


def test_weights_labels_follow_left_right_and_front_back(body):
    parts = parts_from_weights(body.vertices, body.faces, body.weights, body.joints)
    centroid = body.vertices[body.faces].mean(axis=1)
    for left, right in ((4, 3), (5, 6), (10, 9), (14, 13), (15, 16), (21, 22), (24, 23)):
        assert centroid[parts == left, 0].mean() > 0.0 > centroid[parts == right, 0].mean()
    for front, back in ((2, 1), (9, 7), (10, 8), (13, 11), (14, 12), (15, 17), (22, 20)):
        assert centroid[parts == front, 2].mean() > centroid[parts == back, 2].mean()


def test_uv_file_gives_densepose_labels_exactly(tmp_path, body):
    rng = np.random.default_rng(1)
    truth = rng.integers(1, 25, len(body.faces)).astype(np.uint8)
    truth[:40] = 7  # a patch of one part, so left-out faces inside it have a clear answer
    write_uv_mat(tmp_path / "UV_Processed.mat", body.faces, truth, drop=0)
    uv = read_uv_processed(tmp_path / "UV_Processed.mat")
    np.testing.assert_array_equal(parts_from_uv(uv, body.faces), truth)


def test_faces_left_out_take_their_neighbours_part(tmp_path, body):
    truth = body.face_parts
    write_uv_mat(tmp_path / "uv.mat", body.faces, truth, drop=3, seed=2)
    parts = parts_from_uv(read_uv_processed(tmp_path / "uv.mat"), body.faces)
    assert (parts != truth).sum() <= 1 and parts.min() >= 1


def test_bad_uv_files_are_refused(tmp_path, body):
    with pytest.raises(InputError, match="nowhere.mat does not exist"):
        read_uv_processed(tmp_path / "nowhere.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"All_Faces": np.ones((2, 3))})
    with pytest.raises(InputError, match="other.mat: not DensePose's UV_Processed.mat, missing"):
        read_uv_processed(tmp_path / "other.mat")
    (tmp_path / "junk.mat").write_bytes(b"junk")
    with pytest.raises(InputError, match="junk.mat"):
        read_uv_processed(tmp_path / "junk.mat")
    write_uv_mat(tmp_path / "uv.mat", body.faces, body.face_parts, drop=len(body.faces) // 10)
    with pytest.raises(InputError, match="another SMPL topology"):
        parts_from_uv(read_uv_processed(tmp_path / "uv.mat"), body.faces)
