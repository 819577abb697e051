"""MomentumUpdateHook: schedule values against the closed form, update rule."""
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from mmiivcl.engine.hooks import MomentumUpdateHook


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(2, 2)
        self.k = nn.Linear(2, 2)
        self.calls = []

    def momentum_update(self, m):
        self.calls.append(m)
        with torch.no_grad():
            for pk, pq in zip(self.k.parameters(), self.q.parameters()):
                pk.mul_(m).add_(pq, alpha=1 - m)


def _runner(model, it, max_iters):
    hub = SimpleNamespace(update_scalar=lambda *a, **k: None)
    return SimpleNamespace(model=model, iter=it, max_iters=max_iters,
                           message_hub=hub)


@pytest.mark.parametrize('t', [0, 50, 100])
def test_schedule_matches_formula(t):
    T, m0 = 100, 0.994
    hook = MomentumUpdateHook(base_momentum=m0)
    expected = 1 - (1 - m0) * (math.cos(math.pi * t / T) + 1) / 2
    model = _Toy()
    hook.after_train_iter(_runner(model, t, T), 0)
    assert hook.momentum == pytest.approx(expected)
    assert model.calls == [pytest.approx(expected)]
    assert {0: m0, 50: 1 - (1 - m0) / 2, 100: 1.0}[t] == pytest.approx(expected)


def test_constant_when_end_momentum_none():
    hook = MomentumUpdateHook(base_momentum=0.999, end_momentum=None)
    for t in (0, 7, 99):
        hook.after_train_iter(_runner(_Toy(), t, 100), 0)
        assert hook.momentum == 0.999


def test_update_rule_paper_convention():
    model = _Toy()
    k0 = [p.clone() for p in model.k.parameters()]
    q0 = [p.clone() for p in model.q.parameters()]
    MomentumUpdateHook(0.9).after_train_iter(_runner(model, 0, 10), 0)
    for pk, a, b in zip(model.k.parameters(), k0, q0):
        assert torch.allclose(pk, 0.9 * a + 0.1 * b)


def test_resumed_schedule_continues_from_saved_iteration():
    # a fresh hook (as after --resume) at runner.iter = t gives m(t), not m(0)
    T = 40
    straight = MomentumUpdateHook(0.99)
    values = []
    for t in range(T):
        straight.after_train_iter(_runner(_Toy(), t, T), 0)
        values.append(straight.momentum)
    resumed = MomentumUpdateHook(0.99)
    for t in range(25, T):
        resumed.after_train_iter(_runner(_Toy(), t, T), 0)
        assert resumed.momentum == values[t]


@pytest.mark.parametrize('kw', [dict(base_momentum=1.0),
                                dict(base_momentum=-0.1),
                                dict(base_momentum=0.99, end_momentum=0.5)])
def test_invalid_momentum_raises(kw):
    with pytest.raises(ValueError, match='momentum'):
        MomentumUpdateHook(**kw)
