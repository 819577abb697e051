"""Short videos keep temporal order in every sampler of ours (never wrap).

Reference written here as a plain loop over the rule: with span =
(clip_len - 1) * frame_interval + 1 and F frames, F >= span keeps the
configured stride; clip_len <= F < span uses stride (F - 1) // (clip_len - 1)
with the start where that clip fits; min_frames <= F < clip_len uses frame
i = i * F // clip_len. Videos below min_frames raise VideoTooShortError (the
dataset's skip-and-count). The frame counts 10/24/47/57/64/300 cover every
case at 8x8 (span 57); a real 36-frame clip is decoded at the end.
"""
import os.path as osp

import numpy as np
import pytest

import mmiivcl  # noqa: F401
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets import (OrderedSampleFrames, SampleClipPair,
                              SampleSegmentTuple, VideoTooShortError)

COUNTS = (10, 24, 47, 57, 64, 300)


def reference_clip(start: int, num_frames: int, clip_len: int,
                   interval: int) -> list:
    """The rule, one frame at a time."""
    span = (clip_len - 1) * interval + 1
    if num_frames >= span:
        return [start + i * interval for i in range(clip_len)]
    if num_frames >= clip_len:
        stride = (num_frames - 1) // (clip_len - 1)
        return [start + i * stride for i in range(clip_len)]
    return [i * num_frames // clip_len for i in range(clip_len)]


def largest_start(num_frames: int, clip_len: int, interval: int) -> int:
    clip = reference_clip(0, num_frames, clip_len, interval)
    return num_frames - 1 - clip[-1] if num_frames >= clip_len else 0


@pytest.mark.parametrize('num_frames', COUNTS)
@pytest.mark.parametrize('clip_len, interval', [(8, 8), (4, 2), (16, 4)])
def test_clip_pair_clips_are_ordered(num_frames, clip_len, interval):
    np.random.seed(num_frames)
    sampler = SampleClipPair(clip_len=clip_len, frame_interval=interval,
                             num_clips=3, min_frames=4)
    seen_starts = set()
    for _ in range(200):
        out = sampler(dict(total_frames=num_frames, filename='v.mp4'))
        clips = out['frame_inds'].reshape(3, clip_len)
        for clip, start in zip(clips, out['clip_starts']):
            assert (np.diff(clip) >= 0).all(), clip  # never backwards
            assert clip.min() >= 0 and clip.max() < num_frames
            assert clip.tolist() == reference_clip(int(start), num_frames,
                                                   clip_len, interval)
            seen_starts.add(int(start))
    # starts uniform over every position where the clip fits
    high = largest_start(num_frames, clip_len, interval)
    if high < 150:  # 600 draws reach every start
        assert seen_starts == set(range(high + 1))


def test_full_span_keeps_stride_and_clip_len_gives_first_frames():
    np.random.seed(0)
    sampler = SampleClipPair(clip_len=8, frame_interval=8, num_clips=2)
    for n in (57, 64, 300):  # F >= span: the configured stride exactly
        for _ in range(50):
            clips = sampler(dict(total_frames=n))['frame_inds'].reshape(2, 8)
            assert (np.diff(clips, axis=1) == 8).all()
    out = sampler(dict(total_frames=8))  # F = clip_len: frames 0..7
    assert out['frame_inds'].tolist() == list(range(8)) * 2
    out = SampleClipPair(clip_len=8, frame_interval=8, num_clips=1,
                         min_frames=5)(dict(total_frames=5))
    assert out['frame_inds'].tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    with pytest.raises(VideoTooShortError):  # below min_frames: skipped
        sampler(dict(total_frames=7, filename='short.mp4'))


@pytest.mark.parametrize('num_frames', COUNTS)
@pytest.mark.parametrize('clip_len, interval', [(1, 1), (4, 2), (8, 4)])
def test_segment_tuple_clips_are_ordered(num_frames, clip_len, interval):
    np.random.seed(num_frames + clip_len)
    k = 3
    sampler = SampleSegmentTuple(num_segments=k, clip_len=clip_len,
                                 frame_interval=interval)
    bounds = [(j * num_frames) // k for j in range(k + 1)]
    for _ in range(100):
        out = sampler(dict(total_frames=num_frames))
        clips = out['frame_inds'].reshape(2 * k + 1, clip_len)
        for c, clip in enumerate(clips):
            seg = int(out['clip_segments'][c])
            lo, hi = bounds[seg], bounds[seg + 1]
            assert (np.diff(clip) >= 0).all(), clip
            # every clip stays inside its segment (no spill, no wrap)
            assert lo <= clip.min() and clip.max() < hi
        anchor, positive = clips[:k], clips[k:2 * k]
        for j in range(k):
            length = bounds[j + 1] - bounds[j]
            if length > clip_len:  # two placements exist: distinct
                assert anchor[j, 0] != positive[j, 0]
            span = (clip_len - 1) * interval + 1
            if length >= span + 1:  # fits: the configured stride
                assert (np.diff(anchor[j]) == interval).all()
        np.testing.assert_array_equal(clips[-1],
                                      clips[int(out['query_segment'])])


@pytest.mark.parametrize('num_frames', (5,) + COUNTS)
@pytest.mark.parametrize('test_mode', [True, False])
def test_ordered_sample_frames(num_frames, test_mode):
    np.random.seed(num_frames)
    kw = dict(clip_len=8, frame_interval=8, num_clips=3, test_mode=test_mode)
    ours = OrderedSampleFrames(**kw)
    for _ in range(20):
        out = ours(dict(total_frames=num_frames, start_index=0))
        clips = out['frame_inds'].reshape(3, 8)
        for clip in clips:
            assert (np.diff(clip) >= 0).all(), clip
            assert clip.max() < num_frames
            assert clip.tolist() == reference_clip(int(clip[0]), num_frames,
                                                   8, 8) or \
                num_frames < 8
    if num_frames >= 57:  # clip fits: exactly mmaction2's SampleFrames
        upstream = TRANSFORMS.build(dict(type='SampleFrames', **kw))
        np.random.seed(1)
        a = ours(dict(total_frames=num_frames, start_index=0))['frame_inds']
        np.random.seed(1)
        b = upstream(dict(total_frames=num_frames, start_index=0))
        np.testing.assert_array_equal(a, b['frame_inds'])
    elif test_mode:  # evenly spread over the positions that fit
        high = largest_start(num_frames, 8, 8)
        out = ours(dict(total_frames=num_frames, start_index=0))
        assert out['frame_inds'].reshape(3, 8)[:, 0].tolist() == [
            0, round(high / 2), high]


def test_upstream_sample_frames_would_wrap():
    """Why the rule exists: mmaction2 loops a 10-frame video backwards."""
    upstream = TRANSFORMS.build(dict(type='SampleFrames', clip_len=8,
                                     frame_interval=8, num_clips=1,
                                     test_mode=True))
    inds = upstream(dict(total_frames=10, start_index=0))['frame_inds']
    assert (np.diff(inds) < 0).any()
    ours = OrderedSampleFrames(clip_len=8, frame_interval=8, num_clips=1,
                               test_mode=True)
    inds = ours(dict(total_frames=10, start_index=0))['frame_inds']
    assert inds.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]  # stride 1, centred


def test_real_short_clip_decodes_in_order(shared_data):
    """36-frame real clip, 8x8: stride 5, decoded frames equal the frames
    a fresh reader returns at those (ascending) indices."""
    import decord
    path = osp.join(shared_data, 'videos', 'edge_cases', 'realshort.mp4')
    pipe = [TRANSFORMS.build(dict(type='VideoInit')),
            SampleClipPair(clip_len=8, frame_interval=8, num_clips=2),
            TRANSFORMS.build(dict(type='DecordDecodeClips'))]
    np.random.seed(3)
    res = dict(filename=path, start_index=0)
    for t in pipe:
        res = t(res)
    inds = res['frame_inds']
    assert inds.tolist() == list(range(0, 36, 5))[:8] * 2
    vr = decord.VideoReader(path, num_threads=1)
    ref = vr.get_batch(inds[:8].tolist()).asnumpy()
    np.testing.assert_array_equal(np.stack(res['imgs'][:8]), ref)
