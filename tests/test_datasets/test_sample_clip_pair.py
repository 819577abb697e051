"""SampleClipPair on real clips: ρ clips, stride, independence, short videos,
too-short videos, one decord reader and one get_batch call per sample."""
import os.path as osp

import numpy as np
import pytest

import mmiivcl  # noqa: F401
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets import SampleClipPair, VideoTooShortError


def _init(path: str) -> dict:
    """mmaction2's DecordInit on ``path`` (opens one reader)."""
    init = TRANSFORMS.build(dict(type='DecordInit', io_backend='disk'))
    return init(dict(filename=path, start_index=0, modality='RGB'))


def _decode(results: dict) -> dict:
    return TRANSFORMS.build(dict(type='DecordDecode'))(results)


@pytest.fixture(scope='module')
def edge(shared_data):
    return osp.join(shared_data, 'videos', 'edge_cases')


def test_rho_clips_of_t_frames_with_stride(kinetics_clips):
    np.random.seed(0)
    sampler = SampleClipPair(clip_len=8, frame_interval=8, num_clips=3)
    for path in kinetics_clips[:4]:
        res = sampler(_init(path))
        total = res['total_frames']
        assert total >= 57  # the README's clips are 250-310 frames
        inds = res['frame_inds']
        assert inds.shape == (24, ) and inds.dtype == np.int64
        assert (res['clip_len'], res['num_clips'],
                res['frame_interval']) == (8, 3, 8)
        clips = inds.reshape(3, 8)  # clip-major
        # each clip: 8 frames at stride exactly 8, no wrap-around needed
        assert (np.diff(clips, axis=1) == 8).all()
        assert clips.min() >= 0 and clips.max() < total
        # starts lie where the whole 57-frame span fits
        assert (clips[:, 0] <= total - 57).all()
        np.testing.assert_array_equal(clips[:, 0], res['clip_starts'])


def test_start_times_independent_and_uniform(kinetics_clips):
    total = _init(kinetics_clips[0])['total_frames']
    span = 7 * 8 + 1
    high = total - span  # starts are uniform on {0, ..., high}
    np.random.seed(1)
    sampler = SampleClipPair(clip_len=8, frame_interval=8, num_clips=2)
    starts = np.stack([
        sampler(dict(total_frames=total, filename='x'))['clip_starts']
        for _ in range(3000)
    ])
    s0, s1 = starts[:, 0].astype(float), starts[:, 1].astype(float)
    assert starts.min() == 0 and starts.max() == high  # full support
    # independent: near-zero correlation, equal starts only by chance
    assert abs(np.corrcoef(s0, s1)[0, 1]) < 0.08
    assert (s0 == s1).mean() < 5.0 / (high + 1)
    # uniform: mean and std of the discrete uniform on {0..high}
    mu = high / 2
    sd = np.sqrt(((high + 1)**2 - 1) / 12)
    for s in (s0, s1):
        assert abs(s.mean() - mu) < 4 * sd / np.sqrt(len(s))
        assert abs(s.std() - sd) < 0.05 * sd
        counts = np.histogram(s, bins=4, range=(0, high + 1))[0]
        assert counts.min() > 0.8 * len(s) / 4


def test_short_video_keeps_order(edge):
    res = _init(osp.join(edge, 'realshort.mp4'))
    assert res['total_frames'] == 36  # shared data README
    np.random.seed(2)
    res = SampleClipPair(clip_len=8, frame_interval=8, num_clips=2,
                         min_frames=8)(res)
    clips = res['frame_inds'].reshape(2, 8)
    # a 57-frame span cannot fit in 36 frames: the stride shrinks to the
    # largest that fits, (36 - 1) // 7 = 5, and nothing wraps
    assert res['clip_stride'] == 5
    for clip, start in zip(clips, res['clip_starts']):
        np.testing.assert_array_equal(clip, start + 5 * np.arange(8))
        assert 0 <= start <= 36 - 36  # a 36-frame clip fits at 0 only
    res = _decode(res)
    assert len(res['imgs']) == 16


def test_clip_that_fits_in_short_video_does_not_loop(edge):
    np.random.seed(3)
    res = SampleClipPair(clip_len=4, frame_interval=2, num_clips=2)(
        _init(osp.join(edge, 'realshort.mp4')))
    clips = res['frame_inds'].reshape(2, 4)
    assert (np.diff(clips, axis=1) == 2).all()
    assert clips.max() < 36


def test_below_min_frames_raises(edge):
    path = osp.join(edge, 'video_90.mov')
    res = _init(path)
    assert res['total_frames'] == 3
    with pytest.raises(VideoTooShortError) as info:
        SampleClipPair(clip_len=8, frame_interval=8, num_clips=2)(dict(res))
    assert path in str(info.value)
    assert info.value.total_frames == 3 and info.value.min_frames == 8
    # allowed when min_frames permits: frame i of the clip is i * 3 // 4,
    # repeats in order, never a wrap
    out = SampleClipPair(clip_len=4, frame_interval=2, num_clips=2,
                         min_frames=3)(dict(res))
    assert out['frame_inds'].tolist() == [0, 0, 1, 2] * 2


def test_one_reader_and_one_get_batch_per_sample(kinetics_clips, monkeypatch):
    import decord
    counts = dict(readers=0, batches=[])
    original = decord.VideoReader

    class CountingReader(original):

        def __init__(self, *args, **kwargs):
            counts['readers'] += 1
            super().__init__(*args, **kwargs)

        def get_batch(self, indices):
            counts['batches'].append(list(indices))
            return super().get_batch(indices)

    monkeypatch.setattr(decord, 'VideoReader', CountingReader)
    np.random.seed(4)
    path = kinetics_clips[0]
    res = SampleClipPair(clip_len=4, frame_interval=8, num_clips=2)(
        _init(path))
    res = _decode(res)
    assert counts['readers'] == 1
    assert len(counts['batches']) == 1
    assert counts['batches'][0] == res['frame_inds'].tolist()
    assert len(res['imgs']) == 8 and res['video_reader'] is None
    monkeypatch.setattr(decord, 'VideoReader', original)

    # round trip: a fresh reader returns the same pixels at those indices
    vr = original(path, num_threads=1)
    for k in (0, 5):
        ref = vr.get_batch([int(res['frame_inds'][k])]).asnumpy()[0]
        np.testing.assert_array_equal(res['imgs'][k], ref)


@pytest.mark.parametrize('kwargs', [
    dict(clip_len=0), dict(frame_interval=-1), dict(num_clips=0),
    dict(min_frames=1.5)
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        SampleClipPair(**kwargs)


def test_registered():
    t = TRANSFORMS.build(
        dict(type='SampleClipPair', clip_len=2, frame_interval=3,
             num_clips=4))
    assert isinstance(t, SampleClipPair)
    assert t.clip_span == 4
