"""A synthetic photo with a known person: an orange stick figure with soft edges on a textured
background, the MediaPipe landmarks of its limbs, and a segmentation that misses its forearms
and hands (what MediaPipe does on real photos)."""

from __future__ import annotations

import cv2
import numpy as np

HEIGHT, WIDTH = 256, 384
PERSON_RGB = (230, 90, 20)  # the background's red channel stays below 80
OTHER_RGB = (40, 200, 230)  # a second person, blue; the background's blue stays below 80
FACE = (40, 140, 80, 100)  # (top, right, bottom, left)
# MediaPipe Pose landmark -> (x, y) for a figure whose face box is FACE
LANDMARKS = {
    0: (120, 65), 11: (145, 90), 12: (95, 90), 13: (180, 130), 14: (60, 130), 15: (195, 168),
    16: (45, 168), 17: (202, 182), 18: (38, 182), 19: (198, 186), 20: (42, 186), 21: (190, 180),
    22: (50, 180), 23: (135, 180), 24: (105, 180), 25: (138, 220), 26: (102, 220),
    27: (140, 250), 28: (100, 250),
}  # fmt: skip
FOREARMS = ((13, 15), (14, 16))


def background(seed: int = 0) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 texture: noise over diagonal stripes, red and blue below 80."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((HEIGHT, WIDTH))
    stripes = np.sin((rows + 2 * cols) / 4.0)
    texture = np.stack([45 + 15 * stripes, 100 + 40 * stripes, 45 - 15 * stripes], axis=-1)
    texture += rng.normal(0, 8, texture.shape)
    return np.clip(texture, 0, 255).astype(np.uint8)


def figure_alpha(shift: int = 0, with_forearms: bool = True) -> np.ndarray:
    """(HEIGHT, WIDTH) float32 soft silhouette of the figure, moved `shift` px right."""
    canvas = np.zeros((HEIGHT, WIDTH), np.uint8)
    point = {k: (x + shift, y) for k, (x, y) in LANDMARKS.items()}
    cv2.ellipse(canvas, (120 + shift, 60), (24, 30), 0, 0, 360, 255, -1)
    cv2.rectangle(canvas, (92 + shift, 86), (148 + shift, 185), 255, -1)
    limbs = [(11, 13), (12, 14), (24, 26), (26, 28), (23, 25), (25, 27)]
    for a, b in limbs + (list(FOREARMS) if with_forearms else []):
        cv2.line(canvas, point[a], point[b], 255, 16)
    if with_forearms:
        for hand in (17, 18):
            cv2.circle(canvas, point[hand], 10, 255, -1)
    return cv2.GaussianBlur(canvas.astype(np.float32) / 255, (0, 0), 1.0)


def landmarks(shift: int = 0) -> np.ndarray:
    """(33, 3) MediaPipe landmarks [x, y, visibility] of the figure moved `shift` px right."""
    marks = np.zeros((33, 3))
    for index, (x, y) in LANDMARKS.items():
        marks[index] = (x + shift, y, 0.99)
    return marks


def composite(image: np.ndarray, alpha: np.ndarray, rgb: tuple) -> np.ndarray:
    mixed = image * (1 - alpha[..., None]) + np.array(rgb) * alpha[..., None]
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def face(shift: int = 0) -> tuple[int, int, int, int]:
    top, right, bottom, left = FACE
    return top, right + shift, bottom, left + shift
