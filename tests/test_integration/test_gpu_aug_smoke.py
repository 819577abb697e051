"""The deferred-photometric recipe end to end on CPU (the code a GPU runs).

* a tiny IIVCL trains an epoch through a Runner with
  ``ClipAugment(defer_photometric=True)`` and ``ClipAugmentPreprocessor``:
  the config check passes, losses are finite, and the batches the model saw
  were jittered (differ from the worker's un-jittered crops);
* the same pipeline with mmaction2's plain ``ActionDataPreprocessor`` stops in
  ``before_train`` with the key and the fix, before any step;
* ``configs/iivcl/r3d50_k400_gpu_aug.py`` differs from ``r3d50_k400.py`` only
  where it should, and its built model and pipeline pass the check.
"""
import copy
import math
import os.path as osp

import pytest
import torch
from mmaction.models import ActionDataPreprocessor
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.config import Config
from mmengine.runner import Runner

from mmiivcl.engine.hooks.pretrain_config_check_hook import (
    ConfigError, check_deferred_photometric)

PIPELINE = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=4, frame_interval=2, num_clips=2),
    dict(type='DecordDecodeClips'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32,
         color_jitter_p=1.0, defer_photometric=True),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('sample_idx', 'filename', 'clip_aug_params')),
]
GPU_AUG = dict(type='ClipAugmentPreprocessor', mean=[123.675, 116.28, 103.53],
               std=[58.395, 57.12, 57.375])


def _cfg(rel, tmp_path, tiny_data, preprocessor):
    return rel.runner_cfg(
        str(tmp_path / 'work'), 'gpu_aug',
        osp.join(tiny_data, 'train_list.txt'), copy.deepcopy(PIPELINE),
        data_root=osp.join(tiny_data, 'videos'),
        model=rel.tiny_model(data_preprocessor=preprocessor),
        default_hooks=dict(check=dict(type='PretrainConfigCheckHook')))


@pytest.mark.timeout(120)
def test_deferred_recipe_trains_with_jittered_batches(tmp_path, tiny_data,
                                                      rel, clean_env):
    runner = Runner(**_cfg(rel, tmp_path, tiny_data, GPU_AUG))
    pre = runner.model.data_preprocessor
    seen = []
    original = pre.preprocess

    def spy(inputs, data_samples, training=False):
        # what the stock preprocessor makes of the same batch: normalised,
        # not augmented
        plain, _ = ActionDataPreprocessor.preprocess(
            pre, list(inputs), data_samples, False)
        out, samples = original(inputs, data_samples, training)
        if training:
            seen.append((out - plain).abs().max().item())
        return out, samples

    pre.preprocess = spy  # test instrumentation only
    runner.train()
    assert runner.iter == 6  # 12 videos / batch 2
    assert seen and min(seen) > 0  # every batch was jittered here
    assert math.isfinite(runner.message_hub.get_scalar(
        'train/loss').current())


@pytest.mark.timeout(60)
def test_plain_preprocessor_is_refused_before_the_first_step(
        tmp_path, tiny_data, rel, clean_env):
    plain = dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                 std=[58.395, 57.12, 57.375], format_shape='NCTHW')
    runner = Runner(**_cfg(rel, tmp_path, tiny_data, plain))
    with pytest.raises(ConfigError, match="ClipAugmentPreprocessor"):
        runner.train()
    assert runner.iter == 0


def test_gpu_aug_config_is_the_recipe_plus_the_move(repo_root):
    a = Config.fromfile(osp.join(repo_root, 'configs/iivcl/r3d50_k400.py'))
    b = Config.fromfile(osp.join(repo_root,
                                 'configs/iivcl/r3d50_k400_gpu_aug.py'))
    pa, pb = a.train_dataloader.dataset.pipeline, \
        b.train_dataloader.dataset.pipeline
    assert [t['type'] for t in pa] == [t['type'] for t in pb]
    for ta, tb in zip(pa, pb):
        if ta['type'] == 'ClipAugment':
            assert dict(tb) == dict(ta, defer_photometric=True)
        elif ta['type'] == 'PackActionInputs':
            assert tuple(tb['meta_keys']) == tuple(ta['meta_keys']) + (
                'clip_aug_params',)
        else:
            assert dict(ta) == dict(tb)
    assert b.model.data_preprocessor.type == 'ClipAugmentPreprocessor'
    ma, mb = copy.deepcopy(a.model), copy.deepcopy(b.model)
    ma.pop('data_preprocessor'), mb.pop('data_preprocessor')
    assert ma == mb
    assert a.optim_wrapper == b.optim_wrapper
    assert a.train_dataloader.batch_size == b.train_dataloader.batch_size
    # the built preprocessor and pipeline pass the config check
    pre = MODELS.build(b.model.data_preprocessor)
    transforms = [TRANSFORMS.build(t) for t in pb]
    holder = torch.nn.Module()
    holder.data_preprocessor = pre
    check_deferred_photometric(holder, transforms)
