"""The reference features without a network (scene alone, motion alone).

* the look oracle against a hand count of a small table;
* the flow descriptor's mean velocity points the way the generator moves the
  object (right vs left, up vs down), its turn statistic has the sign of the
  rotation (clockwise vs anticlockwise) and its divergence that of the scale
  change, on videos rendered here;
* mean colour ignores where the object is (a shifted copy of a frame gives
  the same feature) while the colour layout does not.
"""
import numpy as np
import pytest

from mmiivcl.analysis.reference_features import (colour_layout, mean_colour,
                                                 motion_descriptor,
                                                 oracle_by_field)
from mmiivcl.datasets.synthetic import render_video


def test_look_oracle_matches_hand_count():
    # look 0: classes [0, 0, 1] -> predicts 0; look 1: [1, 2] -> tie -> 1
    tl = np.array([0, 0, 1, 1, 2])
    tf = np.array([0, 0, 0, 1, 1])
    ql = np.array([0, 1, 2, 1])
    qf = np.array([0, 0, 1, 7])  # look 7: no training video -> a miss
    out = oracle_by_field(tl, tf, ql, qf)
    assert out['linear'] == pytest.approx(100 * 1 / 4)
    # expected R@1: 2/3, 1/3, 1/2, 0
    assert out['R@1'] == pytest.approx(100 * (2 / 3 + 1 / 3 + 1 / 2) / 4)


def _video(motion, seed=0):
    rng = np.random.default_rng([seed, 7])
    frames, _ = render_video(motion, rng, num_frames=32, size=40, looks=0)
    return frames


@pytest.mark.parametrize('a,b,dim', [('move_right', 'move_left', 0),
                                     ('move_down', 'move_up', 1)])
def test_flow_velocity_follows_the_motion(a, b, dim):
    va, vb = [np.mean([motion_descriptor(_video(m, s))[dim]
                       for s in range(3)]) for m in (a, b)]
    assert va > 0.2 and vb < -0.2  # pixels per frame, image coordinates


def test_flow_turn_and_divergence_signs():
    cw = np.mean([motion_descriptor(_video('circle_clockwise', s))[6]
                  for s in range(3)])
    ccw = np.mean([motion_descriptor(_video('circle_anticlockwise', s))[6]
                   for s in range(3)])
    # the first turn statistic: mean cross product of unit velocities 2
    # frames apart; y points down, so clockwise on screen is positive
    assert cw > 0 > ccw
    grow = np.mean([motion_descriptor(_video('expand', s))[4]
                    for s in range(3)])
    shrink = np.mean([motion_descriptor(_video('shrink', s))[4]
                      for s in range(3)])
    assert grow > shrink


def test_mean_colour_ignores_position_layout_does_not():
    frame = np.zeros((1, 40, 40, 3), np.uint8)
    frame[..., 0] = 100
    moved = frame.copy()
    frame[0, 2:10, 2:10] = 250
    moved[0, 30:38, 30:38] = 250
    np.testing.assert_allclose(mean_colour(frame), mean_colour(moved))
    assert np.abs(colour_layout(frame) - colour_layout(moved)).max() > 50


def test_motion_descriptor_needs_enough_frames():
    with pytest.raises(ValueError, match='at least 8 frames'):
        motion_descriptor(np.zeros((5, 16, 16, 3), np.uint8))
