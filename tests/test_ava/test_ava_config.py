"""The AVA config's protocol numbers (docs/design.md#downstream-protocols,
IIVCL paper
App. B): 20 epochs, total batch 64, lr 0.1 warmed up linearly over 5 epochs,
x0.1 at epochs 5, 10, 15, wd 1e-7, dropout 0.5, 8x8 clips, nothing
downloaded."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAIN_CFG = osp.join(REPO, 'configs', 'downstream', 'ava', 'r3d50_8x8_ava22.py')
IIVCL_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'iivcl_r3d50.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(MAIN_CFG)


def _simulate_lr(cfg, epoch_length):
    """lr at every iteration, stepping schedulers as mmengine's
    ParamSchedulerHook does (iter-based after each iteration, epoch-based
    after each epoch)."""
    init_default_scope('mmaction')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                          lr=cfg.optim_wrapper.optimizer.lr)
    per_iter, per_epoch = [], []
    for c in cfg.param_scheduler:
        c = dict(c)
        cls = PARAM_SCHEDULERS.get(c.pop('type'))
        if c.pop('convert_to_iter_based', False):
            per_iter.append(cls.build_iter_from_epoch(
                opt, **c, epoch_length=epoch_length))
        else:
            per_epoch.append(cls(opt, **c))
    lrs = np.zeros((cfg.train_cfg.max_epochs, epoch_length))
    for e in range(cfg.train_cfg.max_epochs):
        for i in range(epoch_length):
            lrs[e, i] = opt.param_groups[0]['lr']
            opt.step()
            for s in per_iter:
                s.step()
        for s in per_epoch:
            s.step()
    return lrs


def test_schedule(cfg):
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.optim_wrapper.optimizer.lr == 0.1
    lrs = _simulate_lr(cfg, epoch_length=10)
    warm = lrs[:5].ravel()
    # linear warm-up, per iteration, from 0.1 x 0.1 up to 0.1
    assert warm[0] == pytest.approx(0.01)
    assert warm[-1] == pytest.approx(0.1)
    assert np.allclose(np.diff(warm), np.diff(warm)[0])
    # x0.1 at epochs 5, 10 and 15, constant in between
    for (a, b), lr in {(5, 10): 1e-2, (10, 15): 1e-3, (15, 20): 1e-4}.items():
        assert np.allclose(lrs[a:b], lr), (a, b, lrs[a:b, 0])


def test_optimisation_and_head(cfg):
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay) == ('SGD', 0.9, 1e-7)
    # total batch 64 = 8 GPUs x 8, also the auto-scale-lr base
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.auto_scale_lr.base_batch_size == 64
    head = cfg.model.roi_head.bbox_head
    assert head.type == 'BBoxHeadAVA' and head.multilabel
    assert head.dropout_ratio == 0.5
    ext = cfg.model.roi_head.bbox_roi_extractor
    assert ext.roi_layer_type == 'RoIAlign' and ext.with_temporal_pool


def test_clips_and_proposals(cfg):
    for pipe in (cfg.train_pipeline, cfg.val_pipeline,
                 cfg.train_dataloader.dataset.pipeline,
                 cfg.val_dataloader.dataset.pipeline):
        s = pipe[0]
        assert (s.type, s.clip_len, s.frame_interval) == \
            ('SampleAVAFrames', 8, 8)
    assert cfg.val_dataloader.dataset.pipeline[0].test_mode  # centred clip
    assert cfg.val_dataloader.dataset.proposal_file.endswith(
        'ava_dense_proposals_val.FAIR.recall_93.9.pkl')
    assert cfg.val_dataloader.dataset.label_file.endswith(
        'ava_action_list_v2.2_for_activitynet_2019.pbtxt')
    assert cfg.val_dataloader.dataset.ann_file.endswith('ava_val_v2.2.csv')


def test_nothing_downloads_and_backbone_matches_pretraining(cfg):
    assert 'http' not in cfg.pretty_text
    assert cfg.load_from is None
    assert cfg.model.init_cfg.type == 'PretrainedBackbone'
    bb = dict(cfg.model.backbone)
    assert bb.pop('type') == 'mmaction.ResNet3dSlowOnly'
    assert bb.pop('spatial_strides') == (1, 2, 2, 1)  # AVA: res5 stride 1
    pre = dict(Config.fromfile(IIVCL_CFG).model.backbone)
    assert pre.pop('type') == 'ResNet3dSlowOnly'
    for k, v in pre.items():
        assert bb.get(k) == v, k
