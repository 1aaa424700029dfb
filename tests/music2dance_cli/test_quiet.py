"""Native libraries' lines on descriptor 2 (TensorFlow Lite, absl) are dropped unless -v;
everything else passes, in order, a progress bar's carriage-return updates included."""

import os

from music2dance_cli.quiet import native_noise_filtered, without_noise

NOISE = [
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"W0000 00:00:1796552271.831738    4029 inference_feedback_manager.cc:114] Feedback manager"
    b" requires a model with a single signature inference.\n",
]
OURS = [b"10:21:25 render     done     89921ce01c91 in 4.4 s\n", b"rows  50%|#####\r"]


def test_noise_is_dropped_and_our_lines_pass_in_order(capfd):
    with native_noise_filtered():
        for line in (NOISE[0], OURS[0], *NOISE[1:], OURS[1]):
            os.write(2, line)
    assert capfd.readouterr().err.encode() == b"".join(OURS)


def test_noise_after_a_progress_bars_unfinished_line_is_dropped(capfd):
    with native_noise_filtered():
        os.write(2, b"\r 80%|####  | 4/5 [00:03<00:01]" + NOISE[0])
        os.write(2, b"\r100%|######| 5/5 [00:04<00:00]\n")
    assert capfd.readouterr().err.encode() == (
        b"\r 80%|####  | 4/5 [00:03<00:01]\r100%|######| 5/5 [00:04<00:00]\n"
    )


def test_noise_written_in_pieces_is_dropped_and_the_bar_is_not_held_back():
    """TensorFlow Lite writes "INFO: ", its message and "\n" separately, after a bar's line."""
    reads = [b"\r 20%|#  | 1/5", b"INFO: ", b"Created TensorFlow Lite XNNPACK delegate for CPU."]
    reads += [b"\n\r 40%|## | 2/5", b"INFO: ", b"not noise\n", b"\r 60%|###| 3/5"]
    assert list(without_noise(reads)) == [
        b"\r 20%|#  | 1/5", b"", b"", b"\r 40%|## | 2/5", b"", b"INFO: not noise\n",
        b"\r 60%|###| 3/5", b"",
    ]  # fmt: skip
