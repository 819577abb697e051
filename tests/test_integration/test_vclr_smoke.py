"""CPU smoke run of tools/train.py with the VCLR paper config (R2D-50) on a
few shared Kinetics clips; the checkpoint's ``backbone.*`` tensors load into
mmaction2's TSN recognizer (``Recognizer2D`` + ``ResNet`` depth 50) with every
backbone tensor matched."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope


def _tsn_r50():
    with DefaultScope.overwrite_default_scope('mmaction'):
        return _build_tsn()


def _build_tsn():
    return MODELS.build(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNet', depth=50, pretrained=None,
                      norm_eval=False),
        cls_head=dict(type='TSNHead', num_classes=101, in_channels=2048,
                      spatial_type='avg', consensus=dict(type='AvgConsensus',
                                                         dim=1)),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCHW')))


@pytest.mark.timeout(600)
def test_paper_config_trains_and_backbone_loads_into_tsn(tmp_path, repo_root,
                                                         kinetics_clips):
    clips = kinetics_clips[:4]
    lst = tmp_path / 'list.txt'
    lst.write_text(''.join(f'{p}\n' for p in clips))  # absolute paths
    cfg = tmp_path / 'vclr_smoke.py'
    cfg.write_text(
        f"_base_ = '{repo_root}/configs/vclr/r2d50_k400.py'\n"
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        "max_iters=2)\n"
        "param_scheduler = []\n"
        "default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False))\n"
        "log_processor = dict(by_epoch=False)\n"
        # same architecture, small crops (R50 at 64 x 64)
        "smoke_pipeline = [dict(t) for t in _base_.train_pipeline]\n"
        "assert smoke_pipeline[3]['type'] == 'ClipAugment'\n"
        "smoke_pipeline[3]['crop_size'] = 64\n"
        "train_dataloader = dict(num_workers=1, persistent_workers=False, "
        f"dataset=dict(ann_file='{lst}', data_prefix=dict(video=''), "
        "pipeline=smoke_pipeline))\n")
    work = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='2')
    proc = subprocess.run(
        [sys.executable, osp.join(repo_root, 'tools', 'train.py'), str(cfg),
         '--work-dir', str(work), '--cfg-options',
         'train_dataloader.batch_size=2', 'model.frame_queue_len=64',
         'model.video_queue_len=32'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=560)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'Saving checkpoint at 2 iterations' in log
    for name in ('loss_video', 'loss_inter', 'loss_intra', 'loss_order'):
        assert name in log

    sd = torch.load(work / 'iter_2.pth', map_location='cpu',
                    weights_only=True)['state_dict']
    # algorithm state: 2 iterations x 2 videos x 3 key frames / 1 video key
    assert sd['queue_frame.ptr'].item() == 12
    assert sd['queue_video.ptr'].item() == 4
    assert sd['head_order.mlp.2.weight'].shape == (128, 2048)
    assert sd['order_classifier.fc.weight'].shape == (4, 6 * 128)
    assert any(k.startswith('momentum_encoder.backbone.') for k in sd)

    backbone = {k[len('backbone.'):]: v for k, v in sd.items()
                if k.startswith('backbone.')}
    tsn = _tsn_r50()
    target = tsn.backbone.state_dict()
    assert set(backbone) == set(target)  # every tensor, nothing extra
    missing, unexpected = tsn.backbone.load_state_dict(backbone, strict=True)
    assert not missing and not unexpected
    for k, v in tsn.backbone.state_dict().items():
        assert v.shape == backbone[k].shape and torch.equal(v, backbone[k]), k
    # the trained weights moved away from a fresh initialisation
    fresh = _tsn_r50().backbone.state_dict()
    assert not torch.equal(fresh['conv1.conv.weight'],
                           backbone['conv1.conv.weight'])
    # and the recognizer runs on the loaded backbone
    tsn.eval()
    with torch.no_grad():
        feats = tsn.extract_feat(torch.randn(1, 3, 3, 64, 64))[0]
    assert torch.isfinite(feats).all()
