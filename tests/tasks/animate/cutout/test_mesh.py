import numpy as np

from tasks.animate.cutout.bones import NUM_BONES, TORSO
from tasks.animate.cutout.mesh import build_mesh, owner_bits, warp_maps
from tests.tasks.animate.cutout.driving import T_POSE_FACE as FACE
from tests.tasks.animate.cutout.driving import T_POSE_JOINTS as JOINTS

IDENTITY = np.tile(np.eye(2, 3, dtype=np.float32), (NUM_BONES, 1, 1))  # drawn = driving pose


def no_underlay(labels: np.ndarray) -> np.ndarray:
    return np.full(labels.shape, -1, dtype=np.int8)


def _labels() -> np.ndarray:
    """A T-pose person on a 220x340 canvas: torso block, head, and the left upper arm."""
    labels = np.full((340, 220), -1, dtype=np.int8)
    labels[110:200, 80:120] = TORSO
    labels[70:110, 88:112] = 1  # head
    labels[105:125, 120:160] = 2  # left upper arm
    return labels


def test_rest_pose_maps_every_person_pixel_onto_itself():
    labels = _labels()
    owners = owner_bits(labels, no_underlay(labels))
    mesh = build_mesh(owners, JOINTS, FACE, step=6)
    assert set(np.unique(mesh.bone)) == {0, 1, 2}
    driving = np.where(labels >= 0, labels, -1).astype(np.int8)
    map_x, map_y, sheet = warp_maps(mesh, mesh.rest, owners, driving, IDENTITY)
    rows, cols = np.nonzero(labels >= 0)
    assert np.allclose(map_x[rows, cols], cols, atol=1e-3)
    assert np.allclose(map_y[rows, cols], rows, atol=1e-3)
    assert np.array_equal(sheet[rows, cols], labels[rows, cols])
    assert (map_x[labels < 0] == -1).all()  # nothing drawn off the person


def test_a_shifted_sheet_moves_only_its_own_pixels():
    labels = _labels()
    owners = owner_bits(labels, no_underlay(labels))
    mesh = build_mesh(owners, JOINTS, FACE, step=6)
    screen = mesh.rest.copy()
    arm = np.isin(np.arange(len(screen)), mesh.triangles[mesh.bone == 2].ravel())
    screen[arm] += (0.0, 100.0)  # drop the arm sheet by 100 px
    no_driving = np.full(labels.shape, -1, dtype=np.int8)
    map_x, map_y, sheet = warp_maps(mesh, screen, owners, no_driving, IDENTITY)
    assert (sheet[205:225, 125:155] == 2).all() and np.allclose(map_y[215, 140], 115, atol=1e-3)
    assert (sheet[105:125, 125:160] == -1).all()  # where the arm was, nothing is left
    assert (sheet[120:200, 80:120] == TORSO).all()


def test_every_bone_gets_its_own_owner_bit():
    labels = np.arange(-1, NUM_BONES, dtype=np.int8)[None]  # legs are bones 8..13
    owners = owner_bits(labels, no_underlay(labels))
    assert owners[0, 0] == 0
    assert list(owners[0, 1:]) == [1 << bone for bone in range(NUM_BONES)]


def test_the_torso_underlay_shows_only_where_no_sheet_draws():
    """An arm lying across the torso, which the torso also carries: at rest the arm draws it
    (the underlay never covers a sheet, even where the driving body shows the torso); dropped
    away, the torso's underlay fills the hole it leaves."""
    labels = _labels()
    labels[150:170, 85:115] = 2  # the left upper arm across the belly
    fill = labels == 2
    fill[:, 120:] = False  # only the part over the torso
    owners = owner_bits(labels, np.where(fill, TORSO, -1).astype(np.int8))
    mesh = build_mesh(owners, JOINTS, FACE, step=6)
    torso_everywhere = np.full(labels.shape, TORSO, dtype=np.int8)
    _, _, sheet = warp_maps(mesh, mesh.rest, owners, torso_everywhere, IDENTITY)
    assert (sheet[152:168, 88:112] == 2).all()
    screen = mesh.rest.copy()
    arm = np.isin(np.arange(len(screen)), mesh.triangles[mesh.bone == 2].ravel())
    screen[arm] += (0.0, 100.0)
    _, _, sheet = warp_maps(mesh, screen, owners, torso_everywhere, IDENTITY)
    assert (sheet[152:168, 88:112] == TORSO).all()


def test_a_leg_carries_what_a_hand_on_it_hides_and_moves_it_with_the_leg():
    """A hand resting on the thigh: the thigh's sheet carries the jeans under it (not the
    torso, whose sway would tear it from the leg); the hand lifted and the leg swung aside, the
    jeans under the hand go with the leg."""
    labels = _labels()
    labels[200:300, 80:98] = 8  # left thigh
    labels[240:260, 84:96] = 4  # a hand on it
    under = np.where(labels == 4, 8, -1).astype(np.int8)
    owners = owner_bits(labels, under)
    mesh = build_mesh(owners, JOINTS, FACE, step=6)
    screen = mesh.rest.copy()
    hand = np.isin(np.arange(len(screen)), mesh.triangles[mesh.bone == 4].ravel())
    leg = np.isin(np.arange(len(screen)), mesh.triangles[mesh.bone == 8].ravel())
    screen[hand] += (100.0, 0.0)
    screen[leg] += (-30.0, 0.0)
    everywhere = np.full(labels.shape, -1, dtype=np.int8)
    _, map_y, sheet = warp_maps(mesh, screen, owners, everywhere, IDENTITY)
    assert (sheet[242:258, 56:64] == 8).all()  # the jeans under the hand, moved with the leg
    assert (sheet[242:258, 86:94] == -1).all()  # nothing left where the hand lay
