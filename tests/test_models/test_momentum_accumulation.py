"""MomentumUpdateHook under gradient accumulation, through a real Runner.

With ``optim_wrapper.accumulative_counts=4`` the online weights move after
iterations 4, 8 and at ``max_iters`` (mmengine steps a partial accumulation
only there). The key encoder must move exactly then, with m(t) of the
IIVCL paper's Eq. 6 where t counts optimizer steps and
T = ceil(max_iters / 4); a run killed and resumed at a multiple of 4
continues identically.
"""
import copy
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import mmiivcl  # noqa: F401  (registers MomentumUpdateHook)

ACC, MAX_ITERS, M0 = 4, 10, 0.9


@MODELS.register_module(force=True)
class _ToyMomentumModel(BaseModel):
    """Online linear layer + momentum copy; loss = ||online(x) - x||^2."""

    def __init__(self):
        super().__init__()
        self.online = nn.Linear(3, 3)
        self.key = copy.deepcopy(self.online).requires_grad_(False)

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        for pk, pq in zip(self.key.parameters(), self.online.parameters()):
            pk.mul_(m).add_(pq.detach(), alpha=1 - m)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.online(x)
        if mode == 'loss':
            return dict(loss=((out - x) ** 2).mean())
        return out


_RECORDS = {}


@DATASETS.register_module(force=True)
class _Data(Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, generator=g))


@HOOKS.register_module(force=True)
class _RecordKeyHook(Hook):
    """After every iteration (after MomentumUpdateHook): the key weights,
    the hook's momentum, the online weights."""
    priority = 'LOWEST'

    def __init__(self, name):
        self.record = _RECORDS.setdefault(name, [])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model
        hook = next(h for h in runner.hooks
                    if type(h).__name__ == 'MomentumUpdateHook')
        self.record.append(dict(
            it=runner.iter + 1, key=model.key.weight.detach().clone(),
            online=model.online.weight.detach().clone(), m=hook.momentum))


@HOOKS.register_module(force=True)
class _KillAtHook(Hook):
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt('killed')


def _runner(work_dir, record, resume=False, kill_at=None):
    """Built as tools/train.py builds it (Runner.from_cfg), so the hook can
    read ``optim_wrapper.accumulative_counts`` from the runner's config."""
    name = f'{work_dir}:{len(_RECORDS)}'
    _RECORDS[name] = record
    hooks = [dict(type='MomentumUpdateHook', base_momentum=M0,
                  end_momentum=1.0), dict(type='_RecordKeyHook', name=name)]
    if kill_at:
        hooks.append(dict(type='_KillAtHook', at=kill_at))
    return Runner.from_cfg(Config(dict(
        model=dict(type='_ToyMomentumModel'), work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=dict(type='_Data'), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
                           accumulative_counts=ACC),
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4,
                                           by_epoch=False),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks, resume=resume, randomness=dict(seed=0),
        default_scope='mmaction')))


def _cos_m(t, total):
    return 1 - (1 - M0) * (math.cos(math.pi * t / total) + 1) / 2


def test_key_moves_only_after_optimizer_steps(tmp_path):
    record = []
    runner = _runner(tmp_path / 'a', record)
    key0 = runner.model.key.weight.detach().clone()
    runner.train()
    steps = [r['it'] for r, prev in zip(
        record, [dict(key=key0)] + record[:-1])
        if not torch.equal(r['key'], prev['key'])]
    assert steps == [4, 8, 10]  # not 4, 5, 6, ... (one EMA per micro-iter)
    moved_online = [r['it'] for r, prev in zip(record[1:], record[:-1])
                    if not torch.equal(r['online'], prev['online'])]
    assert moved_online == [4, 8, 10]  # the online weights: the same its
    total = math.ceil(MAX_ITERS / ACC)  # T = 3 optimizer steps
    by_it = {r['it']: r['m'] for r in record}
    for k, it in enumerate([4, 8, 10]):  # k optimizer steps before this one
        assert by_it[it] == pytest.approx(_cos_m(k, total))


def test_killed_and_resumed_run_continues_identically(tmp_path):
    straight = []
    _runner(tmp_path / 'straight', straight).train()
    first = []
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path / 'resumed', first, kill_at=6).train()
    second = []
    resumed = _runner(tmp_path / 'resumed', second, resume=True)
    resumed.train()  # from iter_4.pth, the multiple of 4 before the kill
    assert second[0]['it'] == 5
    for r in second:
        ref = straight[r['it'] - 1]
        assert torch.equal(r['key'], ref['key']), r['it']
        assert torch.equal(r['online'], ref['online']), r['it']
        assert r['m'] == ref['m']
