"""The cutout's matte and background plate on real photos: time, fill texture, and a sheet.

    python bench/cutout_plate.py [--photos P ...] [--size 512] [--out bench/out/plates]

For every photo (default: ../shared/photos/* beside scikit-image's astronaut), resized to --size
px square as the align stage gives it, prints the matte's and the plate's seconds on this
machine's cores (numba warmed up first), and the fill's gradient energy over the ring around the
hole's edge, for the patch fill and, side by side, for the plate it replaced (Telea at 128 px,
blurred: a smooth smear scores near 0; the photo's own texture scores 1). Writes per photo a PNG
of photo | matte over the photo | replaced plate | plate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from music2dance_cli.quiet import native_noise_filtered  # noqa: E402
from tasks.align.face import choose_person, detect_faces, load_reference  # noqa: E402
from tasks.animate.cutout.background import clean_plate, plate_hole  # noqa: E402
from tasks.animate.cutout.reference import read_reference  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "photos"
GROW = 0.02  # the animator's default background_grow, fraction of the long side


def telea_plate(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The plate before issue 13: Telea at 128 px, blurred, upsampled into the hole."""
    height, width = hole.shape
    scale = 128 / max(height, width)
    size = (round(width * scale), round(height * scale))
    small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    small = cv2.inpaint(
        cv2.resize(image, size, interpolation=cv2.INTER_AREA), small_hole, 3, cv2.INPAINT_TELEA
    )
    filled = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.5), (width, height))
    return np.where(hole[..., None], filled, image)


def texture_ratio(plate: np.ndarray, photo: np.ndarray, hole: np.ndarray, band: int) -> float:
    """Gradient energy of the plate just inside the hole / the photo's just outside it."""
    gray = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.float32) for im in (plate, photo)]
    energy = [
        cv2.Sobel(g, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_32F, 0, 1) ** 2 for g in gray
    ]
    kernel = np.ones((2 * band + 1,) * 2, np.uint8)
    inside = hole & ~cv2.erode(hole.astype(np.uint8), kernel).astype(bool)
    outside = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool) & ~hole
    inside = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return float(energy[0][inside].mean() / max(energy[1][outside].mean(), 1e-6))


def photo_list(out: Path) -> list[Path]:
    from skimage.data import astronaut

    photos = sorted(p for p in PHOTOS.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    astro = out / "astronaut.png"
    cv2.imwrite(str(astro), astronaut()[..., ::-1])
    return [*photos, astro]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", nargs="*", type=Path)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "plates")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    warm = np.zeros((64, 64), np.float32)
    warm[20:40, 20:40] = 1.0
    clean_plate(np.full((64, 64, 3), 128, np.uint8), warm, 1)  # compile numba
    grow = round(GROW * args.size)
    sys.stdout.write(f"{'photo':<18} {'matte s':>8} {'plate s':>8} {'texture':>8} {'old':>6}\n")
    photos = args.photos or photo_list(args.out)
    warm = cv2.resize(load_reference(photos[0]), (args.size,) * 2, interpolation=cv2.INTER_AREA)
    read_reference(
        warm, detect_faces(warm)[0], np.zeros(warm.shape[:2], np.uint8), np.zeros((24, 2))
    )
    for path in photos:
        photo = cv2.resize(load_reference(path), (args.size,) * 2, interpolation=cv2.INTER_AREA)
        faces = detect_faces(photo, path.name)  # as the align stage chooses
        chosen = choose_person(faces, args.size, path.name, person=0)
        others = [box for i, box in enumerate(faces) if i != chosen]
        nothing = np.zeros(photo.shape[:2], np.uint8), np.zeros((24, 2))
        start = time.perf_counter()
        body = read_reference(photo, faces[chosen], *nothing, other_faces=others)
        matte_s = time.perf_counter() - start
        start = time.perf_counter()
        plate = clean_plate(photo, body.mask, grow)
        plate_s = time.perf_counter() - start
        hole = plate_hole(body.mask, grow)
        old = telea_plate(photo, hole)
        new_ratio, old_ratio = (texture_ratio(p, photo, hole, grow) for p in (plate, old))
        sys.stdout.write(
            f"{path.stem:<18} {matte_s:8.2f} {plate_s:8.2f} {new_ratio:8.2f} {old_ratio:6.2f}\n"
        )
        shown = photo.copy()
        shown[body.mask > 0.5] = shown[body.mask > 0.5] // 2 + np.array([0, 127, 0], np.uint8)
        sheet = np.concatenate([photo, shown, old, plate], axis=1)
        cv2.imwrite(str(args.out / f"plate_{path.stem}.png"), sheet[..., ::-1])
    sys.stdout.write(f"sheets: {args.out}\n")


if __name__ == "__main__":
    with native_noise_filtered():  # MediaPipe's TensorFlow Lite lines, as the CLI drops them
        main()
