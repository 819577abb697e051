"""docs/troubleshooting.md, section 4: exact resume.

Two CPU runs of ``tools/train.py`` on a tiny generated data set with the real
augmenting pipeline (random clip starts, scale jitter, crop, colour jitter,
grayscale, blur, flip), 2 persistent DataLoader workers, shuffle-BN,
``--seed 0 --deterministic``:

A. uninterrupted, 3 epochs, a checkpoint after every epoch;
B. a fresh process resumed with ``--resume A/epoch_2.pth`` (what a run killed
   after its epoch-2 checkpoint does; the queue has wrapped twice by then).

B's epoch 3 must equal A's bit for bit: every loss term and accuracy of every
iteration, the batches, the momentum and LR schedules, and at the end the
whole state (weights, momentum encoder, queues, pointers, optimizer and
scheduler state).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))

CONFIG = """
_base_ = {demo!r}
custom_imports = dict(imports=['mmiivcl', '_resume_probe'],
                      allow_failed_imports=False)
model = dict(
    backbone=dict(base_channels=8, conv1_kernel=(1, 3, 3),
                  inflate=(0, 0, 1, 1)),
    head_intra=dict(in_channels=64, hid_channels=32, out_channels=16),
    head_nn=dict(in_channels=64, hid_channels=32, out_channels=16),
    feat_dim=16, queue_len=20)
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=4, frame_interval=2, num_clips=2),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32,
         color_jitter=(0.4, 0.4, 0.4, 0.1), color_jitter_p=0.8,
         grayscale_p=0.2, blur_p=0.5, blur_sigma=(0.1, 2.0), flip_p=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file={ann!r}, data_prefix=dict(video={videos!r}),
                 pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=2, eta_min=0, by_epoch=True,
         begin=1, end=3, convert_to_iter_based=True),
]
custom_hooks = [dict(type='MomentumUpdateHook', base_momentum=0.9,
                     end_momentum=1.0),
                dict(type='ResumeProbeHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5))
log_processor = dict(window_size=1)
"""


def _train(repo_root, cfg, work, extra=()):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [HERE, repo_root, os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, osp.join(repo_root, 'tools', 'train.py'), cfg,
           '--work-dir', work, '--seed', '0', '--deterministic', *extra]
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def _records(work):
    with open(osp.join(work, 'probe.jsonl')) as f:
        return [json.loads(line) for line in f]


def _assert_same(a, b, path='checkpoint'):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            torch.equal(a, b), path
    elif isinstance(a, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            _assert_same(a[k], b[k], f'{path}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{path}[{i}]')
    else:
        assert a == b, (path, a, b)


@pytest.mark.timeout(480)
def test_resumed_run_continues_bit_identically(tmp_path, repo_root,
                                               tiny_data):
    cfg = tmp_path / 'resume_cfg.py'
    cfg.write_text(CONFIG.format(
        demo=osp.join(repo_root, 'configs/demo/iivcl_r3d18_demo.py'),
        ann=osp.join(tiny_data, 'train_list.txt'),
        videos=osp.join(tiny_data, 'videos')))
    a, b = str(tmp_path / 'A'), str(tmp_path / 'B')
    log_a = _train(repo_root, str(cfg), a)
    assert 'EpochSeedHook: worker seeds derived from (seed=0' in log_a
    ckpt2 = osp.join(a, 'epoch_2.pth')
    log_b = _train(repo_root, str(cfg), b, ['--resume', ckpt2])
    assert 'resumed epoch: 2' in log_b

    rec_a, rec_b = _records(a), _records(b)
    assert [r['iter'] for r in rec_a] == list(range(9))  # 12 videos / 4
    assert [r['iter'] for r in rec_b] == [6, 7, 8]
    # at least one queue wrap before the "kill": 6 steps x 8 keys > 20
    sd2 = torch.load(ckpt2, map_location='cpu', weights_only=True)
    for b_ in ('intra', 'nn'):
        assert int(sd2['state_dict'][f'queue_{b_}.ptr']) == 48 % 20
        assert (sd2['state_dict'][f'queue_{b_}.indices'] >= 0).all()
    # the real pipeline augments differently every epoch (per-epoch seeds)
    by_epoch = [sorted(s for r in rec_a if r['epoch'] == e
                       for s in r['input_sums']) for e in range(3)]
    assert by_epoch[0] != by_epoch[1] != by_epoch[2]
    # epoch 3, iteration by iteration: identical batches, losses, schedules
    for ra, rb in zip(rec_a[6:], rec_b):
        assert ra == rb, (ra, rb)
    assert rec_b[-1]['momentum'] == rec_a[-1]['momentum'] and \
        rec_a[-1]['momentum'] > 0.9
    # the final state, all of it
    fa = torch.load(osp.join(a, 'epoch_3.pth'), map_location='cpu',
                    weights_only=True)
    fb = torch.load(osp.join(b, 'epoch_3.pth'), map_location='cpu',
                    weights_only=True)
    _assert_same(fa['state_dict'], fb['state_dict'], 'state_dict')
    _assert_same(fa['optimizer'], fb['optimizer'], 'optimizer')
    _assert_same(fa['param_schedulers'], fb['param_schedulers'],
                 'param_schedulers')
    assert (fa['meta']['epoch'], fa['meta']['iter']) == \
        (fb['meta']['epoch'], fb['meta']['iter']) == (3, 9)


class _Draws(torch.utils.data.Dataset):
    """Returns the worker's next numpy / torch / random draws; re-seeds
    persistent workers like UnlabeledVideoDataset."""
    reseeds_persistent_workers = True

    def __len__(self):
        return 8

    def __getitem__(self, i):
        import random

        import numpy as np

        from mmiivcl.datasets.worker_seed import maybe_reseed_worker
        maybe_reseed_worker(self)
        return (i, float(np.random.rand()), float(torch.rand(())),
                random.random())


@pytest.mark.timeout(60)
def test_persistent_workers_reseeded_per_epoch_like_fresh_ones():
    """Epoch e of a persistent loader draws exactly what a fresh loader
    (a resumed run) draws in epoch e, and epochs differ from each other."""
    from mmiivcl.datasets.worker_seed import (epoch_worker_init_fn,
                                              publish_seed_state)

    def loader(ds):
        return torch.utils.data.DataLoader(
            ds, batch_size=2, num_workers=2, persistent_workers=True,
            worker_init_fn=epoch_worker_init_fn, collate_fn=list)

    ds = _Draws()
    persistent = loader(ds)
    epochs = []
    for epoch in range(2):
        publish_seed_state(ds, seed=7, rank=0, epoch=epoch)
        epochs.append([s for b in persistent for s in b])
    assert epochs[0] != epochs[1]
    fresh_ds = _Draws()
    publish_seed_state(fresh_ds, seed=7, rank=0, epoch=1)
    resumed = [s for b in loader(fresh_ds) for s in b]
    assert resumed == epochs[1]
    # another rank draws differently
    other = _Draws()
    publish_seed_state(other, seed=7, rank=1, epoch=1)
    assert [s for b in loader(other) for s in b] != epochs[1]


def test_main_process_reseeded_from_iteration():
    """EpochSeedHook makes the main process's draws a function of the
    iteration, whatever ran before (init, checkpoint loading...)."""
    import types

    from mmiivcl.engine.hooks import EpochSeedHook
    hook = EpochSeedHook()
    hook.seed = 3
    runner = types.SimpleNamespace(iter=17)
    torch.rand(5)  # arbitrary earlier consumption
    hook.before_train_iter(runner, 0)
    first = torch.randperm(16)
    torch.rand(123)
    hook.before_train_iter(runner, 0)
    assert torch.equal(first, torch.randperm(16))
    runner.iter = 18
    hook.before_train_iter(runner, 0)
    assert not torch.equal(first, torch.randperm(16))


@pytest.mark.parametrize('loop', ['IterBasedTrainLoop',
                                  'EpochBasedTrainLoop'])
def test_sampler_epoch_followed_only_by_iteration_based_loops(loop):
    """An iteration-based loop starts a new pass inside next(), where only
    the sampler's set_epoch sees it: the hook follows set_epoch there (and
    publishes that epoch to the workers); an epoch-based loop publishes in
    before_train_epoch and leaves the sampler alone."""
    import types

    import mmengine.runner as mr
    from mmengine.dataset import DefaultSampler

    from mmiivcl.datasets.worker_seed import attach_seed_state
    from mmiivcl.engine.hooks import EpochSeedHook
    ds = _Draws()
    sampler = DefaultSampler(ds, shuffle=True, seed=3)
    dl = torch.utils.data.DataLoader(ds, batch_size=2, sampler=sampler,
                                     collate_fn=list)
    train_loop = object.__new__(getattr(mr, loop))
    train_loop.dataloader = dl
    runner = types.SimpleNamespace(seed=3, epoch=0, _train_loop=train_loop,
                                   _randomness_cfg={})
    hook = EpochSeedHook()
    hook.before_train(runner)
    wrapped = 'set_epoch' in vars(sampler)
    assert wrapped == (loop == 'IterBasedTrainLoop')
    sampler.set_epoch(4)
    assert sampler.epoch == 4  # the sampler's own method still runs
    published = int(attach_seed_state(ds)[3])  # (enabled, seed, rank, epoch)
    assert published == (4 if wrapped else 0)
