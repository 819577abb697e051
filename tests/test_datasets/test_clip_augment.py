"""ClipAugment on real frames: per-clip parameters shared by the clip's frames,
independent across clips, each op checked against a hand-written reference."""
import cv2
import numpy as np
import pytest

import mmiivcl  # noqa: F401
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets import ClipAugment

OFF = dict(color_jitter_p=0.0, grayscale_p=0.0, blur_p=0.0, flip_p=0.0)


@pytest.fixture(scope='module')
def frames(kinetics_clips):
    """12 real RGB frames (256 x 340) of one Kinetics clip, 5 apart."""
    import decord
    vr = decord.VideoReader(kinetics_clips[-1], num_threads=1)
    return vr.get_batch(list(range(0, 60, 5))).asnumpy()


def _run(aug: ClipAugment, imgs, clip_len: int) -> dict:
    n = len(imgs)
    return aug(dict(imgs=list(imgs), clip_len=clip_len,
                    num_clips=n // clip_len))


def test_output_and_recorded_geometry(frames):
    np.random.seed(0)
    aug = ClipAugment(scale=(64, 80), crop_size=56)
    res = _run(aug, frames, clip_len=4)  # 3 clips of 4 frames
    imgs = res['imgs']
    assert isinstance(imgs, list) and len(imgs) == 12
    assert all(f.shape == (56, 56, 3) and f.dtype == np.uint8 for f in imgs)
    assert res['img_shape'] == (56, 56)
    params = res['clip_aug_params']
    assert len(params) == 3
    h, w = frames.shape[1:3]
    for p in params:
        s = p['scale']
        assert 64 <= s <= 80
        nh, nw = p['resized_shape']
        # short side resized to s, aspect kept
        assert min(nh, nw) == s
        assert abs(max(nh, nw) - max(h, w) * s / min(h, w)) <= 1
        x, y, cw, ch = p['crop_box']
        assert (cw, ch) == (56, 56)
        assert 0 <= x <= nw - 56 and 0 <= y <= nh - 56


def test_geometry_matches_reference_for_every_frame(frames):
    """Crop and flip: each output frame equals the hand-made resize/crop/flip
    of its input frame with *its clip's* recorded parameters."""
    np.random.seed(1)
    aug = ClipAugment(scale=(64, 80), crop_size=48, **dict(OFF, flip_p=0.5))
    res = _run(aug, frames, clip_len=3)  # 4 clips of 3 frames
    params = res['clip_aug_params']
    for k, out in enumerate(res['imgs']):
        p = params[k // 3]
        nh, nw = p['resized_shape']
        x, y, cw, ch = p['crop_box']
        ref = cv2.resize(frames[k], (nw, nh),
                         interpolation=cv2.INTER_LINEAR)[y:y + ch, x:x + cw]
        if p['flip']:
            ref = ref[:, ::-1]
        np.testing.assert_array_equal(out, ref)
    # different clips got different crops (independent draws)
    boxes = {(p['resized_shape'], p['crop_box']) for p in params}
    assert len(boxes) == 4


def test_clip_of_identical_frames_stays_identical(frames):
    """Every op on: frames of one clip are transformed identically, clips
    are transformed differently."""
    np.random.seed(2)
    aug = ClipAugment(scale=(64, 80), crop_size=48, color_jitter_p=1.0,
                      grayscale_p=0.0, blur_p=1.0, flip_p=0.5)
    one = frames[0]
    for trial in range(3):
        imgs = [one] * 12  # 3 clips x 4 identical frames
        res = _run(aug, imgs, clip_len=4)
        out = np.stack(res['imgs']).reshape(3, 4, 48, 48, 3)
        for c in range(3):
            for t in range(1, 4):
                np.testing.assert_array_equal(out[c, t], out[c, 0])
        for a in range(3):
            for b in range(a + 1, 3):
                assert not np.array_equal(out[a, 0], out[b, 0])
        jit = [p['color_jitter'] for p in res['clip_aug_params']]
        assert all(j is not None for j in jit)
        assert len({j['brightness'] for j in jit}) == 3


@pytest.mark.parametrize('random_order', [False, True])
def test_color_jitter_matches_reference(frames, random_order, rel):
    # identity geometry: 16x16 patches, scale=crop=16 -> no resize, full box;
    # patches from different places, so the frames of a clip differ in mean
    patches = np.stack([frames[0, 100:116, 150:166], frames[1, 0:16, 0:16],
                        frames[2, 200:216, 300:316], frames[3, 60:76, 20:36]])
    np.random.seed(3 + random_order)
    aug = ClipAugment(scale=(16, 16), crop_size=16, color_jitter=(0.4, 0.4,
                                                                  0.4, 0.1),
                      random_order=random_order,
                      **dict(OFF, color_jitter_p=1.0))
    res = _run(aug, patches, clip_len=2)
    for c, p in enumerate(res['clip_aug_params']):
        assert p['crop_box'] == (0, 0, 16, 16)
        j = p['color_jitter']
        for key in ('brightness', 'contrast', 'saturation'):
            assert 0.6 <= j[key] <= 1.4
        assert -0.1 <= j['hue'] <= 0.1
        assert sorted(j['order']) == [0, 1, 2, 3]
        if not random_order:
            assert j['order'] == [0, 1, 2, 3]
        ref = rel.ref_jitter(patches[2 * c:2 * c + 2], j)
        out = np.stack(res['imgs'][2 * c:2 * c + 2]).astype(np.float64)
        assert np.abs(out - ref).max() <= 1.0


def test_grayscale_and_blur_match_reference(frames):
    patches = frames[:2, 50:82, 60:92]  # 32x32, one clip of 2 frames
    np.random.seed(5)
    aug = ClipAugment(scale=(32, 32), crop_size=32,
                      **dict(OFF, grayscale_p=1.0, blur_p=1.0))
    assert aug.blur_kernel == 3  # odd, about 10 % of 32
    res = _run(aug, patches, clip_len=2)
    p = res['clip_aug_params'][0]
    assert p['grayscale'] and 0.1 <= p['blur_sigma'] <= 2.0
    # reference: luma, then separable Gaussian with reflect-101 borders
    gray = patches.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    k, s = aug.blur_kernel, p['blur_sigma']
    r = np.arange(k) - k // 2
    g1 = np.exp(-r**2 / (2 * s**2))
    g1 /= g1.sum()
    for t in range(2):
        pad = np.pad(gray[t], k // 2, mode='reflect')
        rows = sum(g1[i] * pad[i:i + 32, :] for i in range(k))
        ref = sum(g1[i] * rows[:, i:i + 32] for i in range(k))
        out = res['imgs'][t]
        assert (out[..., 0] == out[..., 1]).all()
        assert (out[..., 0] == out[..., 2]).all()
        assert np.abs(out[..., 0] - ref).max() <= 1.0


def test_default_kernel_is_ten_percent_odd():
    assert ClipAugment().blur_kernel == 23  # 224 * 0.1, odd
    assert ClipAugment(scale=(128, 160), crop_size=128).blur_kernel == 13


def test_probabilities_and_ranges():
    """Per-clip draws follow the configured probabilities and ranges."""
    np.random.seed(6)
    aug = ClipAugment(scale=(8, 12), crop_size=8)
    n = 1200
    imgs = np.random.randint(0, 256, (n, 9, 11, 3), dtype=np.uint8)
    params = _run(aug, imgs, clip_len=1)['clip_aug_params']
    assert len(params) == n
    rate = lambda f: np.mean([f(p) for p in params])  # noqa: E731
    tol = 0.05  # > 3 standard errors at n = 1200
    assert abs(rate(lambda p: p['flip']) - 0.2) < tol
    assert abs(rate(lambda p: p['color_jitter'] is not None) - 0.8) < tol
    assert abs(rate(lambda p: p['grayscale']) - 0.2) < tol
    assert abs(rate(lambda p: p['blur_sigma'] is not None) - 0.5) < tol
    assert {p['scale'] for p in params} == set(range(8, 13))
    sig = [p['blur_sigma'] for p in params if p['blur_sigma'] is not None]
    assert 0.1 <= min(sig) and max(sig) <= 2.0


def test_random_resized_crop_per_frame(frames):
    """VCLR / MoCo-v2 mode with clip_len=1: each frame its own parameters;
    output equals the reference crop-then-resize of its box."""
    np.random.seed(7)
    aug = ClipAugment(crop='random_resized', crop_size=40, area=(0.2, 1.0),
                      aspect=(3 / 4, 4 / 3), clip_len=1, **OFF)
    res = aug(dict(imgs=list(frames[:6])))
    params = res['clip_aug_params']
    assert len(params) == 6
    h, w = frames.shape[1:3]
    for k, p in enumerate(params):
        x, y, bw, bh = p['crop_box']
        assert 0 <= x and x + bw <= w and 0 <= y and y + bh <= h
        assert 0.2 - 0.01 <= bw * bh / (h * w) <= 1.0
        assert 3 / 4 - 0.02 <= bw / bh <= 4 / 3 + 0.02
        ref = cv2.resize(np.ascontiguousarray(frames[k, y:y + bh, x:x + bw]),
                         (40, 40), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(res['imgs'][k], ref)
    assert len({p['crop_box'] for p in params}) == 6


def test_global_numpy_rng_makes_it_deterministic(frames):
    aug = ClipAugment(scale=(64, 80), crop_size=48)
    outs = []
    for _ in range(2):
        np.random.seed(8)
        outs.append(_run(aug, frames[:8], clip_len=4))
    np.testing.assert_array_equal(np.stack(outs[0]['imgs']),
                                  np.stack(outs[1]['imgs']))
    assert outs[0]['clip_aug_params'] == outs[1]['clip_aug_params']


def test_format_shape_keeps_clips_apart(frames):
    """After FormatShape('NCTHW') clip c, time t is output frame c*T + t."""
    np.random.seed(9)
    res = _run(ClipAugment(scale=(48, 56), crop_size=40), frames[:6],
               clip_len=3)
    imgs = [f.copy() for f in res['imgs']]
    res = TRANSFORMS.build(dict(type='FormatShape', input_format='NCTHW'))(
        res)
    assert res['imgs'].shape == (2, 3, 3, 40, 40)
    for c in range(2):
        for t in range(3):
            np.testing.assert_array_equal(res['imgs'][c, :, t],
                                          imgs[c * 3 + t].transpose(2, 0, 1))


@pytest.mark.parametrize('kwargs', [
    dict(scale=(200, 300), crop_size=224), dict(crop='center'),
    dict(blur_kernel=4), dict(flip_p=1.5), dict(color_jitter=(0.4, 0.4)),
    dict(area=(0.2, 1.5))
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        ClipAugment(**kwargs)


def test_frame_count_must_match_clips(frames):
    aug = ClipAugment(scale=(48, 56), crop_size=40)
    with pytest.raises(ValueError):
        aug(dict(imgs=list(frames[:5]), clip_len=2, num_clips=2))
    with pytest.raises(ValueError):
        aug(dict(imgs=list(frames[:6]), clip_len=2, num_clips=2))
