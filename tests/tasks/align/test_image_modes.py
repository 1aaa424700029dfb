"""Photos of any bit depth and mode load as the same 8-bit RGB pixels as their 8-bit copy, so the
run (face box, alignment) is the same."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from tasks.align.face import load_reference, validate_reference

RGB = data.astronaut()
GRAY = cv2.cvtColor(RGB, cv2.COLOR_RGB2GRAY)


def _save(path, image: Image.Image, **kwargs):
    image.save(path, **kwargs)
    return path


def _exif_rotated(path):
    """The photo stored turned 90 degrees with an EXIF tag (6: rotate 90 CW) that undoes it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(RGB, k=1)))
    return _save(path, stored, exif=exif.tobytes(), format="PNG")


def _variants(tmp_path):
    """name -> (file, the 8-bit RGB it must load as, max abs difference allowed)."""
    gray_rgb = np.repeat(GRAY[..., None], 3, axis=2)
    rgba = np.dstack([RGB, np.full(GRAY.shape, 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "gray16.png"), GRAY.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "rgb48.png"), RGB[..., ::-1].astype(np.uint16) * 257)
    gray32 = Image.fromarray(GRAY.astype(np.int32) * 257, mode="I")
    gray_alpha = Image.fromarray(rgba).convert("LA")
    cmyk = io.BytesIO()
    Image.fromarray(RGB).convert("CMYK").save(cmyk, format="TIFF")
    (tmp_path / "cmyk.tif").write_bytes(cmyk.getvalue())
    return {
        "gray 16-bit": (tmp_path / "gray16.png", gray_rgb, 0),
        "RGB 16-bit": (tmp_path / "rgb48.png", RGB, 0),
        "gray 32-bit": (_save(tmp_path / "gray32.tif", gray32), gray_rgb, 0),
        "gray 8-bit": (_save(tmp_path / "gray8.png", Image.fromarray(GRAY)), gray_rgb, 0),
        "RGBA": (_save(tmp_path / "rgba.png", Image.fromarray(rgba)), RGB, 0),
        "gray+alpha": (_save(tmp_path / "la.png", gray_alpha), gray_rgb, 1),
        "CMYK": (tmp_path / "cmyk.tif", RGB, 2),
        "EXIF rotated": (_exif_rotated(tmp_path / "rotated.png"), RGB, 0),
    }


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    return _variants(tmp_path_factory.mktemp("modes"))


@pytest.mark.parametrize(
    "name",
    [
        "gray 16-bit",
        "RGB 16-bit",
        "gray 32-bit",
        "gray 8-bit",
        "RGBA",
        "gray+alpha",
        "CMYK",
        "EXIF rotated",
    ],
)
def test_every_mode_loads_as_its_8bit_rgb_copy(name, variants):
    path, expected, tolerance = variants[name]
    loaded = load_reference(path)
    assert loaded.dtype == np.uint8 and loaded.shape == expected.shape
    assert np.abs(loaded.astype(int) - expected).max() <= tolerance


def test_16bit_photo_finds_the_same_face_as_its_8bit_copy(variants):
    assert validate_reference(variants["gray 16-bit"][0]) == validate_reference(
        variants["gray 8-bit"][0]
    )
