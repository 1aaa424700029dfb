"""Segments cut at kinematic beats and the motion graph that links them."""

import numpy as np
import pytest

from tasks.base import InputError
from tasks.motion.library.graph import MAX_COST, build_graph
from tasks.motion.library.segments import STEP_LIFT, cut_segments
from tests.tasks.motion.library.dances import pendulum_clip, pendulum_library


def test_segments_run_from_kinematic_beat_to_kinematic_beat():
    clip = pendulum_clip("p15", 15, 0.6, 4.0)
    seg = cut_segments([clip])
    assert np.all(seg.start % 15 == 0) and np.all(seg.end - seg.start == 15)
    assert np.array_equal(seg.successor[:-1], np.arange(1, len(seg)))  # one clip: a chain
    assert seg.successor[-1] == -1
    assert np.all(seg.energy > 0.15) and not seg.steps.any()
    assert np.allclose(seg.turn, 0.0, atol=1e-6) and np.allclose(seg.shift, 0.0, atol=1e-6)


def test_a_lifted_ankle_marks_a_stepping_segment():
    clip = pendulum_clip("p15", 15, 0.6, 4.0)
    poses = clip.poses.copy()
    lift = np.zeros(len(poses))
    lift[45:60] = np.sin(np.linspace(0, np.pi, 15))  # left knee bends once, in the 4th beat
    poses[:, 4, 0] = 0.9 * lift  # ~15 cm ankle lift at full bend
    poses[:, 1, 0] = -0.45 * lift
    seg = cut_segments([type(clip)(clip.name, clip.style, poses, clip.trans)])
    stepping = seg.start[seg.steps]
    assert stepping.size and np.all((stepping <= 59) & (seg.end[seg.steps] >= 45))
    assert STEP_LIFT == 0.05


def test_graph_keeps_natural_successors_and_links_close_boundaries_only():
    clips = pendulum_library()
    graph = build_graph(clips)
    seg = graph.segments
    assert len(seg) > 0 and len(set(seg.styles)) == 1
    mirrored = cut_segments(clips)
    assert len(seg) == 2 * len(mirrored)  # every clip also mirrored left/right
    for n in range(len(seg)):
        targets, costs = graph.transitions(n)
        if seg.successor[n] >= 0:
            assert targets[0] == seg.successor[n] and costs[0] == 0.0
        assert n not in targets  # never back to itself
        assert np.all(costs <= MAX_COST)
        assert np.allclose(costs, graph.mismatch_from(n)[targets], atol=1e-4)
    assert len(graph.edges) > np.count_nonzero(seg.successor >= 0)  # jumps between clips exist


def test_a_library_without_dancing_is_refused_with_the_fix():
    still = pendulum_clip("still", 15, 0.0, 3.0)
    with pytest.raises(InputError, match="motion.library=null"):
        build_graph([still])
