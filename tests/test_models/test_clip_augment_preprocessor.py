"""Deferred photometric augmentation: the worker draws, the preprocessor applies.

Checked three ways: the torch ops against a plain per-pixel reference
(colorsys hue, luma blends, a numpy separable Gaussian); the deferred pipeline
(ClipAugment(defer_photometric=True) + FormatShape + ClipAugmentPreprocessor)
against the CPU pipeline on the same seeds (the same parameters, so the same
frames within one grey level); and the config errors that keep a deferred
pipeline from training unaugmented.
"""
import numpy as np
import pytest
import torch

import mmiivcl  # noqa: F401
from mmaction.registry import MODELS, TRANSFORMS
from mmaction.structures import ActionDataSample

from mmiivcl.datasets import ClipAugment
from mmiivcl.engine.hooks.pretrain_config_check_hook import (
    ConfigError, check_deferred_photometric)
from mmiivcl.models import ClipAugmentPreprocessor, apply_clip_photometric

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope='module')
def frames(kinetics_clips):
    """16 real RGB frames of one Kinetics clip, 4 apart."""
    import decord
    vr = decord.VideoReader(kinetics_clips[0], num_threads=1)
    return vr.get_batch(list(range(0, 64, 4))).asnumpy()


def _ref_clip(x: np.ndarray, p: dict, rel) -> np.ndarray:
    """Plain reference of one clip (T, H, W, 3) float64 in [0, 255]."""
    x = x.astype(np.float64)
    if p['color_jitter'] is not None:
        x = rel.ref_jitter(x, p['color_jitter'])
    if p['grayscale']:
        x = np.repeat((x @ LUMA)[..., None], 3, axis=-1)
    if p['blur_sigma'] is not None:
        k, s = p['blur_ksize'], p['blur_sigma']
        r = np.arange(k) - k // 2
        g1 = np.exp(-r**2 / (2 * s**2))
        g1 /= g1.sum()
        h, w = x.shape[1:3]
        pad = np.pad(x, ((0, 0), (k // 2,) * 2, (k // 2,) * 2, (0, 0)),
                     mode='reflect')
        rows = sum(g1[i] * pad[:, i:i + h] for i in range(k))
        x = sum(g1[i] * rows[:, :, i:i + w] for i in range(k))
    return x


def _to_ncthw(clips: np.ndarray) -> torch.Tensor:
    """(n, T, H, W, 3) -> (n, 3, T, H, W) float."""
    return torch.from_numpy(np.ascontiguousarray(clips)).permute(
        0, 4, 1, 2, 3).float()


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ops_match_plain_reference(frames, seed, rel):
    """Four 2-frame 12x12 clips, all ops on, random order, varied sigmas."""
    rng = np.random.RandomState(seed)
    clips = np.stack([frames[2 * c:2 * c + 2, 40 + 9 * c:52 + 9 * c,
                             60:72] for c in range(4)])
    params = []
    for c in range(4):
        params.append(dict(
            color_jitter=dict(brightness=rng.uniform(0.6, 1.4),
                              contrast=rng.uniform(0.6, 1.4),
                              saturation=rng.uniform(0.6, 1.4),
                              hue=rng.uniform(-0.1, 0.1),
                              order=[int(i) for i in rng.permutation(4)]),
            grayscale=bool(c == 3), blur_sigma=[None, 0.4, 1.0, 2.0][c],
            blur_ksize=[None, 3, 7, 11][c], deferred=True))
    out = apply_clip_photometric(_to_ncthw(clips), params)
    out = out.permute(0, 2, 3, 4, 1).numpy()
    assert (out == np.round(out)).all() and out.min() >= 0 and \
        out.max() <= 255
    for c in range(4):
        ref = _ref_clip(clips[c], params[c], rel)
        assert np.abs(out[c] - ref).max() <= 1.0, c


def test_float32_inside_an_amp_context(frames):
    """mmengine calls the preprocessor inside AMP's autocast: the blur's
    convolutions must not drop to bf16 (a step of 1 grey level at 128)."""
    clip = _to_ncthw(frames[None, :2, :24, :24])
    p = dict(color_jitter=dict(brightness=1.1, contrast=0.9, saturation=1.2,
                               hue=0.03, order=[0, 1, 2, 3]),
             grayscale=False, blur_sigma=1.5, blur_ksize=9)
    ref = apply_clip_photometric(clip, [p])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp = apply_clip_photometric(clip, [p])
    assert amp.dtype == torch.float32
    assert torch.equal(amp, ref)


def test_grey_pixels_keep_their_value_under_hue():
    x = torch.full((1, 3, 1, 2, 2), 77.0)
    p = dict(color_jitter=dict(brightness=1.0, contrast=1.0, saturation=1.0,
                               hue=0.08, order=[3]),
             grayscale=False, blur_sigma=None, blur_ksize=None)
    assert torch.equal(apply_clip_photometric(x, [p]), x)


def _pipelines(defer: bool):
    aug = dict(type='ClipAugment', scale=(112, 128), crop_size=96,
               color_jitter_p=1.0, grayscale_p=0.3, blur_p=0.7, flip_p=0.5,
               defer_photometric=defer)
    return [TRANSFORMS.build(aug),
            TRANSFORMS.build(dict(type='FormatShape', input_format='NCTHW'))]


def _run(pipe, frames, seed):
    np.random.seed(seed)
    res = dict(imgs=list(frames), clip_len=8, num_clips=2)
    for t in pipe:
        res = t(res)
    return res


def test_deferred_pipeline_agrees_with_cpu_pipeline(frames):
    """Same seeds -> same parameters -> the same clips within 1 grey level
    (float maths in a different order; under 1 % of the values differ)."""
    cpu, deferred = _pipelines(False), _pipelines(True)
    pre = ClipAugmentPreprocessor(mean=[0, 0, 0], std=[1, 1, 1])
    seeds = range(6)
    a = [_run(cpu, frames, s) for s in seeds]
    b = [_run(deferred, frames, s) for s in seeds]
    samples = []
    for r in b:
        s = ActionDataSample()
        s.set_metainfo(dict(clip_aug_params=r['clip_aug_params']))
        samples.append(s)
    for ra, rb in zip(a, b):
        assert all(p['deferred'] for p in rb['clip_aug_params'])
        assert not any(p['deferred'] for p in ra['clip_aug_params'])
        pa = [{k: v for k, v in p.items() if k != 'deferred'}
              for p in ra['clip_aug_params']]
        pb = [{k: v for k, v in p.items() if k != 'deferred'}
              for p in rb['clip_aug_params']]
        assert pa == pb  # the same random stream
    data = dict(inputs=[torch.from_numpy(r['imgs']) for r in b],
                data_samples=samples)
    out = pre(data, training=True)['inputs']  # (N, M, 3, T, H, W)
    ref = torch.from_numpy(np.stack([r['imgs'] for r in a])).float()
    assert out.shape == ref.shape
    diff = (out - ref).abs()
    assert diff.max() <= 1.0
    assert (diff > 0).float().mean() < 0.01
    # every kind of op was exercised by these seeds
    ps = [p for r in b for p in r['clip_aug_params']]
    assert any(p['grayscale'] for p in ps)
    assert any(p['blur_sigma'] is not None for p in ps)
    assert any(p['blur_sigma'] is None for p in ps)
    # not augmented outside training: just the normalisation
    plain = pre(dict(inputs=[torch.from_numpy(r['imgs']) for r in b],
                     data_samples=samples), training=False)['inputs']
    assert torch.equal(plain, torch.from_numpy(
        np.stack([r['imgs'] for r in b])).float())


def test_worker_applied_params_pass_unchanged(frames):
    r = _run(_pipelines(False), frames, 0)
    s = ActionDataSample()
    s.set_metainfo(dict(clip_aug_params=r['clip_aug_params']))
    pre = ClipAugmentPreprocessor(mean=[0, 0, 0], std=[1, 1, 1])
    out = pre(dict(inputs=[torch.from_numpy(r['imgs'])], data_samples=[s]),
              training=True)['inputs']
    assert torch.equal(out[0], torch.from_numpy(r['imgs']).float())


def test_missing_params_and_bad_config_name_the_fix(frames):
    pre = MODELS.build(dict(type='ClipAugmentPreprocessor',
                            mean=[0, 0, 0], std=[1, 1, 1]))
    r = _run(_pipelines(True), frames, 0)
    with pytest.raises(KeyError, match='meta_keys'):
        pre(dict(inputs=[torch.from_numpy(r['imgs'])],
                 data_samples=[ActionDataSample()]), training=True)
    with pytest.raises(ValueError, match='NCTHW'):
        ClipAugmentPreprocessor(mean=[0, 0, 0], std=[1, 1, 1],
                                format_shape='NCHW')
    with pytest.raises(ValueError, match='to_rgb'):
        ClipAugmentPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True)


class _Model(torch.nn.Module):
    def __init__(self, pre):
        super().__init__()
        self.data_preprocessor = pre


def test_config_check_refuses_a_deferred_pipeline_without_its_preprocessor():
    from mmaction.models import ActionDataPreprocessor
    defer = ClipAugment(defer_photometric=True)
    pack = TRANSFORMS.build(dict(type='PackActionInputs',
                                 meta_keys=('clip_aug_params',)))
    bare_pack = TRANSFORMS.build(dict(type='PackActionInputs'))
    plain = _Model(ActionDataPreprocessor(mean=[0] * 3, std=[1] * 3,
                                          format_shape='NCTHW'))
    ours = _Model(ClipAugmentPreprocessor(mean=[0] * 3, std=[1] * 3))
    with pytest.raises(ConfigError, match='model.data_preprocessor'):
        check_deferred_photometric(plain, [defer, pack])
    with pytest.raises(ConfigError, match='meta_keys'):
        check_deferred_photometric(ours, [defer, bare_pack])
    check_deferred_photometric(ours, [defer, pack])  # fine
    check_deferred_photometric(plain, [ClipAugment(), bare_pack])  # fine
    check_deferred_photometric(ours, [ClipAugment(), bare_pack])  # no-op


def test_batched_path_equals_per_video_path_and_leaves_inputs(frames):
    """The in-place batch path (same-shape videos) gives what the
    per-video path gives, on a batch mixing deferred and worker-applied
    clips, and never writes into the loader's tensors."""
    deferred, cpu = _pipelines(True), _pipelines(False)
    runs = [_run(deferred, frames, 0), _run(cpu, frames, 1),
            _run(deferred, frames, 2)]
    samples = []
    for r in runs:
        s = ActionDataSample()
        s.set_metainfo(dict(clip_aug_params=r['clip_aug_params']))
        samples.append(s)
    inputs = [torch.from_numpy(r['imgs']) for r in runs]
    before = [t.clone() for t in inputs]
    pre = ClipAugmentPreprocessor(mean=[10, 20, 30], std=[2, 3, 4])
    out = pre(dict(inputs=list(inputs), data_samples=samples),
              training=True)['inputs']
    for t, b in zip(inputs, before):
        assert torch.equal(t, b)
    mean = torch.tensor([10., 20., 30.]).view(3, 1, 1, 1)
    std = torch.tensor([2., 3., 4.]).view(3, 1, 1, 1)
    ref = torch.stack(pre.augment(inputs, samples))
    torch.testing.assert_close(out, (ref - mean) / std, rtol=0, atol=1e-5)
    # the worker-applied video passes unchanged; the others are augmented
    torch.testing.assert_close(out[1] * std + mean, inputs[1].float(),
                               rtol=0, atol=1e-4)
    assert (out[0] * std + mean - inputs[0].float()).abs().max() > 1
    # videos of different shapes go video by video, then are padded
    small = inputs[2][..., :-2]
    s3 = pre(dict(inputs=[inputs[0], small], data_samples=samples[::2]),
             training=True)['inputs']
    assert s3.shape == out[::2].shape
    torch.testing.assert_close(s3[0], out[0], rtol=0, atol=1e-5)
