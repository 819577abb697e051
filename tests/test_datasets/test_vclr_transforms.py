"""VCLR transforms: segment tuples on real clips, temporal-order labels."""
import os.path as osp

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets.errors import VideoTooShortError
from mmiivcl.datasets.transforms.temporal_order import (TemporalOrderShuffle,
                                                        draw_shuffle)

K = 3


# ---------------------------------------------------------------------------
# temporal order
def _results(k=K, clip_len=1):
    """Clip-major layout of SampleSegmentTuple with recognisable entries."""
    n_clips = 2 * k + 1
    return dict(num_segments=k, clip_len=clip_len,
                frame_inds=np.arange(n_clips * clip_len) * 10,
                imgs=[f'img{i}' for i in range(n_clips * clip_len)],
                clip_segments=np.array(list(range(k)) * 2 + [0]),
                clip_aug_params=[dict(clip=i) for i in range(n_clips)])


@pytest.mark.parametrize('anchor,positive,label', [
    ((0, 1, 2), (0, 1, 2), 0),
    ((1, 0, 2), (0, 1, 2), 1),
    ((0, 1, 2), (2, 0, 1), 2),
    ((0, 2, 1), (1, 2, 0), 3),
])
def test_order_label_for_fixed_permutations(anchor, positive, label):
    res = TemporalOrderShuffle.apply(_results(clip_len=2), anchor, positive)
    assert res['order_label'] == label
    # clips moved as written: position j of the anchor tuple holds clip
    # anchor[j]; of the positive tuple clip 3 + positive[j]; the query copy
    # (clip 6) stays last
    clips = [anchor[0], anchor[1], anchor[2],
             3 + positive[0], 3 + positive[1], 3 + positive[2], 6]
    assert res['frame_inds'].tolist() == [
        v for c in clips for v in (20 * c, 20 * c + 10)]
    assert res['imgs'] == [f'img{2 * c + t}' for c in clips for t in (0, 1)]
    assert [p['clip'] for p in res['clip_aug_params']] == clips
    assert res['clip_segments'].tolist() == [
        anchor[0], anchor[1], anchor[2],
        positive[0], positive[1], positive[2], 0]
    assert res['order_perms'].tolist() == [list(anchor), list(positive)]


def test_reverse_is_not_a_shuffle():
    with pytest.raises(ValueError, match='reverse'):
        TemporalOrderShuffle.apply(_results(), (2, 1, 0), (0, 1, 2))
    with pytest.raises(ValueError, match='permutation'):
        TemporalOrderShuffle.apply(_results(), (0, 0, 1), (0, 1, 2))


def test_labels_uniform_and_shuffles_never_trivial():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='TemporalOrderShuffle', p=0.5))
    n = 4000
    counts = np.zeros(4)
    seen = set()
    for _ in range(n):
        res = t(_results())
        lab = res['order_label']
        counts[lab] += 1
        for bit, perm in ((lab & 1, res['order_perms'][0]),
                          (lab >> 1, res['order_perms'][1])):
            perm = tuple(perm.tolist())
            if bit:  # shuffled: neither identity nor reverse
                assert perm not in ((0, 1, 2), (2, 1, 0))
                seen.add(perm)
            else:
                assert perm == (0, 1, 2)
    frac = counts / n
    assert np.all(np.abs(frac - 0.25) <= 0.03), frac
    # every non-trivial permutation of 3 occurs
    assert seen == {(0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1)}


def test_draw_shuffle_needs_three_positions():
    with pytest.raises(ValueError, match='num_segments'):
        draw_shuffle(2)
    np.random.seed(1)
    for _ in range(200):
        p = draw_shuffle(5).tolist()
        assert sorted(p) == list(range(5))
        assert p not in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0])


# ---------------------------------------------------------------------------
# segment sampling on real clips
def _open(path):
    init = TRANSFORMS.build(dict(type='DecordInit', io_backend='disk'))
    return init(dict(filename=path, start_index=0))


def _segment_of(frame, n, k=K):
    """Segment of a frame: segment i is [floor(i n/k), floor((i+1) n/k))."""
    return next(i for i in range(k)
                if (i * n) // k <= frame < ((i + 1) * n) // k)


def test_tuples_have_one_frame_per_segment_on_real_clips(kinetics_clips):
    np.random.seed(0)
    sampler = TRANSFORMS.build(dict(type='SampleSegmentTuple',
                                    num_segments=K))
    for path in kinetics_clips:
        res = _open(path)
        n = res['total_frames']
        for _ in range(20):
            out = sampler(dict(res))
            inds = out['frame_inds']
            assert inds.shape == (2 * K + 1,) and out['num_clips'] == 7
            anchor, positive, query = inds[:K], inds[K:2 * K], inds[2 * K]
            assert [_segment_of(f, n) for f in anchor] == [0, 1, 2]
            assert [_segment_of(f, n) for f in positive] == [0, 1, 2]
            assert np.all(anchor != positive)  # two distinct frames/segment
            s = out['query_segment']
            assert s in (0, K - 1)  # first or last segment
            assert query == anchor[s]  # the re-augmented anchor frame
            assert out['clip_segments'].tolist() == [0, 1, 2, 0, 1, 2, s]
        res['video_reader'] = None


def test_decoded_query_copy_equals_anchor_frame(kinetics_clips):
    np.random.seed(3)
    pipe = [TRANSFORMS.build(c) for c in (
        dict(type='DecordInit', io_backend='disk'),
        dict(type='SampleSegmentTuple', num_segments=K),
        dict(type='DecordDecode'),
        dict(type='TemporalOrderShuffle', p=1.0))]
    res = dict(filename=kinetics_clips[0], start_index=0)
    for t in pipe:
        res = t(res)
    imgs, segs = res['imgs'], res['clip_segments']
    s = segs[2 * K]
    pos = int(np.flatnonzero(segs[:K] == s)[0])  # anchor frame, shuffled
    assert res['order_label'] == 3
    assert np.array_equal(imgs[2 * K], imgs[pos])
    assert not np.array_equal(imgs[2 * K], imgs[K + pos])


def test_full_pipeline_shapes_and_meta(kinetics_clips):
    np.random.seed(4)
    pipe = [TRANSFORMS.build(c) for c in (
        dict(type='DecordInit', io_backend='disk'),
        dict(type='SampleSegmentTuple', num_segments=K),
        dict(type='DecordDecode'),
        dict(type='ClipAugment', crop='random_resized', crop_size=32,
             flip_p=0.5, clip_len=1),
        dict(type='TemporalOrderShuffle', p=0.5),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', meta_keys=(
            'sample_idx', 'clip_segments', 'order_label')))]
    res = dict(filename=kinetics_clips[1], start_index=0, sample_idx=5)
    for t in pipe:
        res = t(res)
    assert tuple(res['inputs'].shape) == (2 * K + 1, 3, 1, 32, 32)
    meta = res['data_samples'].metainfo
    assert meta['sample_idx'] == 5 and meta['order_label'] in range(4)
    assert sorted(meta['clip_segments'][:K].tolist()) == [0, 1, 2]


def test_segment_clips_3d_and_short_videos(shared_data):
    np.random.seed(5)
    sampler = TRANSFORMS.build(dict(type='SampleSegmentTuple',
                                    num_segments=K, clip_len=8,
                                    frame_interval=4))
    span = 29
    # realshort.mp4: 36 frames, segments of 12 < one clip's 29 frames: the
    # clips stay in their segment, in order, at the largest stride that
    # leaves two distinct starts: (12 - 2) // 7 = 1
    short = _open(osp.join(shared_data, 'videos', 'edge_cases',
                           'realshort.mp4'))
    n = short['total_frames']
    assert n < 2 * span
    for _ in range(50):
        out = sampler(dict(short))
        starts, inds = out['clip_starts'], out['frame_inds'].reshape(7, 8)
        assert [_segment_of(f, n) for f in starts[:K]] == [0, 1, 2]
        assert [_segment_of(f, n) for f in starts[K:2 * K]] == [0, 1, 2]
        assert np.all(starts[:K] != starts[K:2 * K])
        assert np.all((inds >= 0) & (inds < n))
        for c in range(7):
            assert inds[c].tolist() == [starts[c] + t for t in range(8)]
            assert _segment_of(inds[c, -1], n) == _segment_of(starts[c], n)
    # a long clip: every clip lies inside its segment
    long = _open(osp.join(shared_data, 'videos', 'kinetics', 'tai_chi.mp4'))
    n = long['total_frames']
    for _ in range(50):
        inds = sampler(dict(long))['frame_inds'].reshape(7, 8)
        for c in range(2 * K):
            assert _segment_of(inds[c, 0], n) == c % K
            assert _segment_of(inds[c, -1], n) == c % K
    # fewer frames than min_frames (4-frame clip): the dataset's skip error
    tiny = _open(osp.join(shared_data, 'videos', 'edge_cases',
                          'unordered.mov'))
    with pytest.raises(VideoTooShortError):
        sampler(dict(tiny))


def test_minimum_is_two_frames_per_segment():
    sampler = TRANSFORMS.build(dict(type='SampleSegmentTuple', num_segments=5,
                                    min_frames=1))
    with pytest.raises(VideoTooShortError):
        sampler(dict(total_frames=9))
    np.random.seed(0)
    for _ in range(50):  # exactly 2 frames per segment: both used
        out = sampler(dict(total_frames=10))
        a, p = out['frame_inds'][:5], out['frame_inds'][5:10]
        assert sorted(np.concatenate([a, p]).tolist()) == list(range(10))


@pytest.mark.parametrize('kw', [dict(num_segments=1), dict(clip_len=0),
                                dict(query_segments=(3,)),
                                dict(query_segments=())])
def test_invalid_sampler_args(kw):
    with pytest.raises(ValueError):
        TRANSFORMS.build(dict(type='SampleSegmentTuple', **kw))
