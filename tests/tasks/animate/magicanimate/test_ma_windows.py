"""Window/overlap arithmetic of the official closed-loop scheduler."""

import pytest
import torch

from tasks.animate.magicanimate.windows import (
    context_windows,
    last_use,
    padded_length,
    tiled_noise,
)


@pytest.mark.parametrize(
    ("frames", "padded", "starts"),
    [
        (16, 16, [0]),
        (17, 32, [0, 12, 24]),
        (32, 32, [0, 12, 24]),
        (112, 112, list(range(0, 112, 12))),
    ],
)
def test_window_counts(frames: int, padded: int, starts: list[int]) -> None:
    total = padded_length(frames, 16)
    assert total == padded
    windows = context_windows(total, 16, 4)
    assert [w[0] for w in windows] == starts
    assert all(len(w) == 16 for w in windows)
    assert sorted({f for w in windows for f in w}) == list(range(total))


def test_last_window_wraps_to_the_start() -> None:
    windows = context_windows(32, 16, 4)
    assert windows[-1] == [*range(24, 32), *range(8)]
    assert last_use(windows, 32)[:8] == [2] * 8
    assert last_use(windows, 32)[8:12] == [0] * 4


def test_short_clips_and_bad_overlap() -> None:
    assert context_windows(10, 16, 4) == [list(range(10))]
    with pytest.raises(ValueError, match="overlap"):
        context_windows(32, 16, 16)


def test_tiled_noise_is_the_official_draw() -> None:
    noise = tiled_noise(4, 2, 3, clip=16, generator=torch.Generator().manual_seed(5))
    expected = torch.randn((1, 4, 16, 2, 3), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(noise, expected)
