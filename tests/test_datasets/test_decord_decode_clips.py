"""DecordDecodeClips on real clips: exactly the frames of a plain decode of
the same (unsorted, repeated) indices, from one sorted get_batch on the
sample's one reader; optional resize while decoding."""
import os.path as osp

import cv2
import numpy as np
import pytest

import mmiivcl  # noqa: F401
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets import DecordDecodeClips, SampleClipPair


def _init(path: str) -> dict:
    init = TRANSFORMS.build(dict(type='DecordInit', io_backend='disk'))
    return init(dict(filename=path, start_index=0, modality='RGB'))


def _plain(path: str, inds, **kwargs) -> np.ndarray:
    """Reference: a fresh reader, get_batch of the indices as given."""
    import decord
    vr = decord.VideoReader(path, num_threads=1, **kwargs)
    return vr.get_batch([int(i) for i in inds]).asnumpy()


@pytest.fixture(scope='module')
def edge(shared_data):
    return osp.join(shared_data, 'videos', 'edge_cases')


def test_same_frames_as_plain_decode_unsorted_and_repeated(kinetics_clips):
    # clip 2 starts before clip 1 and clip 3 repeats frames of clip 1
    starts = [150, 10, 158]
    inds = np.concatenate([s + 8 * np.arange(4) for s in starts])
    assert not (np.diff(inds) > 0).all() and len(set(inds)) < len(inds)
    for path in kinetics_clips[:3]:
        res = _init(path)
        res.update(frame_inds=inds.copy(), clip_len=4, num_clips=3)
        res = DecordDecodeClips()(res)
        ref = _plain(path, inds)
        assert isinstance(res['imgs'], list) and len(res['imgs']) == 12
        for k in range(12):
            np.testing.assert_array_equal(res['imgs'][k], ref[k])
        assert res['img_shape'] == ref.shape[1:3]
        assert res['original_shape'] == ref.shape[1:3]
        assert res['video_reader'] is None and not res['decode_resized']


def test_looped_short_video(edge):
    path = osp.join(edge, 'realshort.mp4')  # 36 frames: clips wrap around
    np.random.seed(0)
    res = SampleClipPair(clip_len=8, frame_interval=8, num_clips=2)(
        _init(path))
    inds = res['frame_inds'].copy()
    res = DecordDecodeClips()(res)
    ref = _plain(path, inds)
    assert len(res['imgs']) == 16
    for k in range(16):
        np.testing.assert_array_equal(res['imgs'][k], ref[k])


def test_one_sorted_unique_get_batch_on_the_one_reader(kinetics_clips,
                                                       monkeypatch):
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
    np.random.seed(1)
    res = SampleClipPair(clip_len=8, frame_interval=8, num_clips=4)(
        _init(kinetics_clips[1]))
    inds = res['frame_inds'].copy()
    # the default pipeline's short_side (320) exceeds these 256-px videos:
    # nothing is re-opened
    DecordDecodeClips(short_side=320)(res)
    assert counts['readers'] == 1
    assert len(counts['batches']) == 1
    assert counts['batches'][0] == sorted(set(inds.tolist()))


def test_repeated_frames_are_equal_but_not_aliased(kinetics_clips):
    res = _init(kinetics_clips[0])
    inds = np.array([40, 48, 40, 48, 40])
    res.update(frame_inds=inds)
    imgs = DecordDecodeClips()(res)['imgs']
    np.testing.assert_array_equal(imgs[0], imgs[2])
    np.testing.assert_array_equal(imgs[0], imgs[4])
    for a in range(5):
        for b in range(a + 1, 5):
            assert not np.shares_memory(imgs[a], imgs[b])
    before = imgs[0].copy()
    imgs[2][:] = 0  # an in-place transform on one entry (e.g. Flip)
    np.testing.assert_array_equal(imgs[0], before)


def test_resize_while_decoding(kinetics_clips, monkeypatch):
    import decord
    path = kinetics_clips[1]  # 340x256
    inds = np.array([100, 20, 108, 28])
    res = _init(path)
    res.update(frame_inds=inds.copy())
    res = DecordDecodeClips(short_side=128)(res)
    assert res['decode_resized']
    assert res['original_shape'] == (256, 340)
    h, w = res['img_shape']
    assert min(h, w) == 128 and abs(w - 340 * 128 / 256) <= 1
    # same pixels as a plain decode at that size, in the requested order
    ref = _plain(path, inds, width=w, height=h)
    for k in range(4):
        np.testing.assert_array_equal(res['imgs'][k], ref[k])
    # and close to resizing the full-size frames (decoder's own scaler)
    full = _plain(path, inds)
    for k in range(4):
        small = cv2.resize(full[k], (w, h), interpolation=cv2.INTER_AREA)
        assert np.abs(small.astype(int) - res['imgs'][k]).mean() < 4.0


def test_min_ratio_decides_the_reopen(kinetics_clips, monkeypatch):
    """Resize while decoding only for sources >= min_ratio x short_side."""
    import decord
    opened = []
    original = decord.VideoReader

    class CountingReader(original):

        def __init__(self, *args, **kwargs):
            opened.append(kwargs.get('width', -1))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(decord, 'VideoReader', CountingReader)
    path = kinetics_clips[1]  # 340 x 256
    for kwargs, resized in ((dict(short_side=160), False),  # 256 < 320
                            (dict(short_side=160, min_ratio=1.5), True),
                            (dict(short_side=256, min_ratio=1.0), False)):
        opened.clear()
        res = _init(path)
        res.update(frame_inds=np.array([60, 8, 68, 16]))
        res = DecordDecodeClips(**kwargs)(res)
        assert res['decode_resized'] == resized
        assert len(opened) == 1 + resized
        assert min(res['img_shape']) == (160 if resized else 256)


@pytest.mark.parametrize('kwargs', [dict(short_side=0),
                                    dict(short_side=1.5),
                                    dict(short_side=64, min_ratio=0.5)])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        DecordDecodeClips(**kwargs)


def test_registered():
    t = TRANSFORMS.build(dict(type='DecordDecodeClips', short_side=320))
    assert isinstance(t, DecordDecodeClips) and t.short_side == 320
    assert 'short_side=320' in repr(t)
