"""The streaming segment loop equals WanAnimatePipeline.__call__ on a tiny random model."""

import numpy as np
import pytest
import torch
from PIL import Image

from tasks.animate.wan.loading import load_pipeline
from tasks.animate.wan.segments import SegmentPlan, animate_segments, check_segments
from tests.tasks.animate.wan.wan_tiny import FACE_SIZE, save_tiny_weights

SIZE = 16


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    folder = save_tiny_weights(tmp_path_factory.mktemp("wan") / "Wan2.2-Animate-14B-Diffusers")
    return load_pipeline(folder, torch.float32)


def _pose(i: int) -> Image.Image:
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[2 + i % 10, 3:12] = (255, 85, 0)  # a bar moving down, frame by frame
    return Image.fromarray(image)


def test_plan_pads_like_the_pipeline():
    plan = SegmentPlan(num_frames=20, length=9, carry=1)
    assert plan.count == 3 and plan.step == 8
    assert plan.padded_indices()[18:] == [18, 19, 18, 17, 16, 15, 14]  # reflected, 25 in all
    assert SegmentPlan(num_frames=17, length=9, carry=1).count == 2  # exactly two segments
    with pytest.raises(ValueError, match="4k\\+1"):
        check_segments(20, 10, 1)


@pytest.mark.parametrize("guidance", [1.0, 2.0])
def test_streamed_segments_equal_the_pipeline(pipe, guidance):
    """12 frames in segments of 9 carrying 1: two segments, the second padded."""
    reference = Image.fromarray(np.full((SIZE, SIZE, 3), 120, np.uint8))
    face = Image.fromarray(np.full((FACE_SIZE, FACE_SIZE, 3), 200, np.uint8))
    plan = SegmentPlan(num_frames=12, length=9, carry=1)
    common = {"height": SIZE, "width": SIZE, "guidance_scale": guidance, "num_inference_steps": 2}
    chunks = list(
        animate_segments(
            pipe, reference=reference, pose_frame=_pose, face=face, plan=plan,
            height=SIZE, width=SIZE, steps=2, guidance=guidance, prompt="people are dancing",
            generator=torch.Generator().manual_seed(0), max_sequence_length=16,
        )
    )  # fmt: skip
    assert [len(c) for c in chunks] == [9, 3]
    whole = pipe(
        image=reference,
        pose_video=[_pose(i) for i in range(12)],
        face_video=[face] * 12,
        prompt="people are dancing",
        segment_frame_length=9,
        prev_segment_conditioning_frames=1,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
        max_sequence_length=16,
        **common,
    ).frames[0]
    expected = (whole * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(np.concatenate(chunks), expected)


def test_group_offload_hooks_leave_the_frames_unchanged(tmp_path):
    """The loop under diffusers' group-offload hooks (onloading to the CPU here; the GPU path
    is bench/wan_animate.py's) gives the frames it gives without them."""
    folder = save_tiny_weights(tmp_path / "wan")
    reference = Image.fromarray(np.full((SIZE, SIZE, 3), 120, np.uint8))

    def frames(pipe) -> np.ndarray:
        chunks = animate_segments(
            pipe, reference=reference, pose_frame=_pose, face=reference,
            plan=SegmentPlan(num_frames=12, length=9, carry=1), height=SIZE, width=SIZE,
            steps=1, guidance=1.0, prompt="dancing", generator=torch.Generator().manual_seed(0),
            max_sequence_length=16,
        )  # fmt: skip
        return np.concatenate(list(chunks))

    plain = frames(load_pipeline(folder, torch.float32))
    hooked = load_pipeline(folder, torch.float32)
    hooked.enable_group_offload(
        onload_device=torch.device("cpu"), offload_type="block_level", num_blocks_per_group=1
    )
    np.testing.assert_array_equal(frames(hooked), plain)
