"""CPU smoke runs of tools/train.py as a user runs it.

* the demo config on a tiny generated set: the checkpoint's ``backbone.*``
  tensors have exactly the keys and shapes of the mmaction2 backbone built
  with the same arguments; it loads with ``weights_only`` on and ``--resume``
  continues from it;
* the paper config ``configs/iivcl/r3d50_k400.py`` on a list file of the
  shared Kinetics clips with ``train_dataloader.batch_size=2`` builds the full
  R3D-50 model and trains its first iterations.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

from mmiivcl.datasets.synthetic import generate_demo_dataset


def _run(args, repo_root, timeout=420):
    env = dict(os.environ, OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable, osp.join(repo_root, 'tools', 'train.py')] + args,
                          cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc.stdout + proc.stderr


def _backbone_spec(cfg_path, repo_root):
    cfg = Config.fromfile(osp.join(repo_root, cfg_path))
    backbone = MODELS.build(cfg.model.backbone)
    return {k: tuple(v.shape) for k, v in backbone.state_dict().items()}


@pytest.mark.timeout(600)
def test_demo_config_trains_checkpoints_and_resumes(tmp_path, repo_root):
    data = tmp_path / 'demo'
    generate_demo_dataset(str(data), num_per_class=3,
                          classes=['move_right', 'move_left', 'move_up'],
                          num_frames=24, size=32, workers=1, verbose=False)
    work = tmp_path / 'work'
    opts = ['--cfg-options',
            f'train_dataloader.dataset.ann_file={data}/all_list.txt',
            f'train_dataloader.dataset.data_prefix.video={data}/videos',
            'train_dataloader.batch_size=4', 'model.queue_len=16',
            'default_hooks.checkpoint.interval=1']
    cfg = 'configs/demo/iivcl_r3d18_demo.py'
    _run([cfg, '--work-dir', str(work), '--seed', '0'] + opts +
         ['train_cfg.max_epochs=1'], repo_root)
    ckpt_path = work / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    sd = ckpt['state_dict']
    got = {k[len('backbone.'):]: tuple(v.shape) for k, v in sd.items()
           if k.startswith('backbone.')}
    assert got == _backbone_spec(cfg, repo_root)
    # every piece of algorithm state is in the checkpoint
    for key in ('queue_intra.feats', 'queue_intra.indices', 'queue_intra.ptr',
                'queue_nn.feats', 'queue_nn.indices', 'queue_nn.ptr'):
        assert key in sd, key
    assert any(k.startswith('momentum_encoder.backbone.') for k in sd)
    assert any(k.startswith('momentum_encoder.head_nn.') for k in sd)
    assert (sd['queue_nn.indices'] >= 0).any()  # the queue was written
    # resume from it (weights_only load inside mmengine) for one more epoch
    log = _run([cfg, '--work-dir', str(work), '--resume'] + opts +
               ['train_cfg.max_epochs=2'], repo_root)
    assert 'resumed epoch: 1' in log
    ckpt2 = torch.load(work / 'epoch_2.pth', map_location='cpu',
                       weights_only=True)
    assert ckpt2['meta']['epoch'] == 2
    assert ckpt2['meta']['iter'] == 2 * ckpt['meta']['iter']


@pytest.mark.timeout(600)
def test_paper_config_builds_full_model_and_trains(tmp_path, repo_root,
                                                   kinetics_clips):
    lst = tmp_path / 'k400_list.txt'
    lst.write_text(''.join(f'{osp.basename(p)}\n' for p in kinetics_clips))
    root = osp.dirname(kinetics_clips[0])
    # a 2-iteration loop: the paper config with the data and loop replaced
    cfg = tmp_path / 'paper_smoke.py'
    cfg.write_text(
        f"_base_ = '{repo_root}/configs/iivcl/r3d50_k400.py'\n"
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        "max_iters=2)\n"
        "param_scheduler = []\n"
        "default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False))\n"
        "log_processor = dict(by_epoch=False)\n"
        f"train_dataloader = dict(num_workers=1, persistent_workers=False, "
        f"dataset=dict(ann_file='{lst}', data_prefix=dict(video='{root}')))\n"
        # same architecture, smaller crops: R50 at 224^2 runs ~0.7 clips/s here
        "train_dataloader['dataset']['pipeline'] = [\n"
        "    dict(type='DecordInit'),\n"
        "    dict(type='SampleClipPair', clip_len=8, frame_interval=8,\n"
        "         num_clips=2),\n"
        "    dict(type='DecordDecode'),\n"
        "    dict(type='ClipAugment', scale=(80, 96), crop_size=64),\n"
        "    dict(type='FormatShape', input_format='NCTHW'),\n"
        "    dict(type='PackActionInputs', meta_keys=('sample_idx',)),\n"
        "]\n")
    work = tmp_path / 'work'
    log = _run([str(cfg), '--work-dir', str(work), '--cfg-options',
                'train_dataloader.batch_size=2'], repo_root, timeout=560)
    assert 'Saving checkpoint at 2 iterations' in log
    sd = torch.load(work / 'iter_2.pth', map_location='cpu',
                    weights_only=True)['state_dict']
    got = {k[len('backbone.'):]: tuple(v.shape) for k, v in sd.items()
           if k.startswith('backbone.')}
    assert got == _backbone_spec('configs/iivcl/r3d50_k400.py', repo_root)
    assert sd['queue_intra.feats'].shape == (65536, 128)
    assert sd['head_nn.mlp.0.weight'].shape == (2048, 2048)
    assert sd['head_nn.mlp.4.weight'].shape == (128, 2048)
    assert sd['queue_nn.ptr'].item() == 2 * 2 * 2  # 2 iters x 2 videos x rho
