"""VCLR configs: the numbers of
docs/design.md#vclr-details-the-paper-leaves-out, models build, pipelines
run."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.config import Config

CONFIGS = ('configs/vclr/r2d50_k400.py', 'configs/vclr/r3d18_k400_segclip.py',
           'configs/vclr/r2d18_demo.py', 'configs/vclr/r3d18_segclip_demo.py')


def _cfg(repo_root, name):
    return Config.fromfile(osp.join(repo_root, name))


def test_paper_config_numbers(repo_root):
    cfg = _cfg(repo_root, 'configs/vclr/r2d50_k400.py')
    m = cfg.model
    assert m.type == 'VCLR' and m.backbone.type == 'ResNet'
    assert m.backbone.depth == 50
    assert m.temperature == 0.1 and m.num_segments == 3
    assert m.frame_queue_len == m.video_queue_len == 131072
    for b in ('video', 'inter', 'intra', 'order'):
        h = m[f'head_{b}']
        assert (h.in_channels, h.hid_channels, h.out_channels,
                h.num_layers) == (2048, 2048, 128, 2)
        assert m[f'lambda_{b}'] == 1.0
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == (
        'SGD', 0.1, 0.9, 1e-4)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=256)
    assert cfg.train_cfg.max_epochs == 400
    warm, cos = cfg.param_scheduler
    assert warm.type == 'LinearLR' and (warm.begin, warm.end) == (0, 5)
    assert cos.type == 'CosineAnnealingLR' and (cos.begin, cos.end) == (5,
                                                                        400)
    # 8 GPUs x 64 videos = the paper's 512
    assert cfg.train_dataloader.batch_size * 8 == 512
    assert cfg.train_dataloader.drop_last
    hooks = [h for h in cfg.custom_hooks if h.type == 'MomentumUpdateHook']
    assert len(hooks) == 1 and hooks[0].base_momentum == 0.999
    assert hooks[0].end_momentum is None
    aug = [t for t in cfg.train_pipeline if t.type == 'ClipAugment'][0]
    assert (aug.crop, aug.crop_size, tuple(aug.area), aug.flip_p,
            aug.grayscale_p, aug.blur_p, aug.color_jitter_p,
            aug.clip_len) == ('random_resized', 224, (0.2, 1.0), 0.5, 0.2,
                              0.5, 0.8, 1)
    shuffle = [t for t in cfg.train_pipeline
               if t.type == 'TemporalOrderShuffle'][0]
    assert shuffle.p == 0.5


@pytest.mark.parametrize('name', CONFIGS)
def test_models_build(repo_root, name):
    cfg = _cfg(repo_root, name)
    model = MODELS.build(cfg.model)
    assert model.branches == ['video', 'inter', 'intra', 'order']
    assert type(model.backbone).__name__ == cfg.model.backbone.type
    assert model.queue_frame.feats.shape == (cfg.model.frame_queue_len,
                                             cfg.model.feat_dim)


@pytest.mark.parametrize('name,clips,t,size', [
    ('configs/vclr/r3d18_k400_segclip.py', 7, 8, 128),
    ('configs/vclr/r2d18_demo.py', 7, 1, 32),
    ('configs/vclr/r3d18_segclip_demo.py', 7, 4, 32),
])
def test_pipelines_run_on_a_real_clip(repo_root, kinetics_clips, name, clips,
                                      t, size):
    np.random.seed(0)
    cfg = _cfg(repo_root, name)
    res = dict(filename=kinetics_clips[0], start_index=0, sample_idx=0)
    for c in cfg.train_dataloader.dataset.pipeline:
        res = TRANSFORMS.build(c)(res)
    assert tuple(res['inputs'].shape) == (clips, 3, t, size, size)
    assert res['inputs'].dtype == torch.uint8
    meta = res['data_samples'].metainfo
    assert {'sample_idx', 'clip_segments', 'order_label'} <= set(meta)


@pytest.mark.parametrize('name,shape', [
    ('configs/vclr/r2d18_demo.py', (8, 3, 1, 32, 32)),
    ('configs/vclr/r3d18_segclip_demo.py', (3, 3, 4, 32, 32)),
])
def test_demo_retrieval_features(repo_root, kinetics_clips, name, shape):
    """The demo's retrieval pipeline feeds the model's predict: one feature
    of the backbone width per video."""
    cfg = _cfg(repo_root, name)
    res = dict(filename=kinetics_clips[0], start_index=0, sample_idx=0)
    for c in cfg.retrieval_pipeline:
        res = TRANSFORMS.build(c)(res)
    assert tuple(res['inputs'].shape) == shape
    model = MODELS.build(cfg.model).eval()
    data = model.data_preprocessor(dict(inputs=[res['inputs']],
                                        data_samples=[res['data_samples']]))
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert out[0].feat.shape == (model.backbone.feat_dim, )
