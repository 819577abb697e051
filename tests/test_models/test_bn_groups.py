"""Emulated shuffle-BN inside one process (``model.bn_groups``,
docs/design.md#shuffle-bn-on-one-process).

References are computed here by hand: the backbone run on each group's rows
alone (train-mode BN sees only that group), and for the key encoder the same
random permutation drawn again from the same seed.
"""
import os
import sys
import warnings

import pytest
import torch
from mmaction.registry import MODELS

from mmiivcl.models.utils import gather

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from test_models.test_iivcl import _inputs, _samples, tiny_cfg  # noqa: E402


def _train_model(**kw):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(**kw))
    model.init_weights()
    model.train()
    return model


def test_video_groups_keep_the_clips_of_a_video_together():
    model = _train_model(bn_groups=2)
    n, rho = 4, 2
    pos = torch.arange(n).repeat(rho)  # clip-major rows, as IIVCL.loss
    g = model.video_groups(pos, n)
    assert g.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    model.eval()
    assert model.video_groups(pos, n) is None  # evaluation: one batch
    model.train()
    with pytest.raises(ValueError, match='bn_groups=2 needs at least'):
        model.video_groups(torch.arange(1), 1)


def test_online_encoder_encodes_each_group_alone():
    model = _train_model(bn_groups=2)
    x = _inputs(n=4).transpose(0, 1).flatten(0, 1)  # (8, C, T, H, W)
    groups = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    with torch.no_grad():
        out = model.encode(x, groups)
        ref = torch.empty_like(out)
        for k in (0, 1):
            rows = (groups == k).nonzero().flatten()
            ref[rows] = model.pool(model.backbone(x[rows]))
        whole = model.pool(model.backbone(x))
    torch.testing.assert_close(out, ref)
    # train-mode BN statistics really differ between groups and the batch
    assert not torch.allclose(out, whole, atol=1e-4)


def test_key_encoder_encodes_random_groups_and_restores_the_order(monkeypatch):
    model = _train_model(bn_groups=2)
    x = _inputs(n=4).transpose(0, 1).flatten(0, 1)
    enc = model.momentum_encoder
    # the warning fires once per process: re-arm it for this check
    monkeypatch.setattr(gather, '_warned_single', False)
    torch.manual_seed(123)
    # bn_groups > 1 makes the single-process permutation meaningful: the
    # 'shuffle-BN does nothing on one process' warning must not fire
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings('error', message='.*single process.*')
        keys = model.encode_key(x, ['head_intra'])
    torch.manual_seed(123)
    perm = torch.randperm(x.shape[0])  # the draw batch_shuffle_ddp makes
    with torch.no_grad():
        parts = [model.pool(enc['backbone'](c)) for c in x[perm].chunk(2)]
        feat = torch.cat(parts)[torch.argsort(perm)]
    torch.testing.assert_close(keys['feat'], feat)
    torch.testing.assert_close(keys['head_intra'], enc['head_intra'](feat))


def test_groups_change_nothing_in_eval_mode():
    a = _train_model(bn_groups=1)
    b = _train_model(bn_groups=4)
    b.load_state_dict(a.state_dict())
    a.eval()
    b.eval()
    x = _inputs(n=4)
    with torch.no_grad():
        torch.testing.assert_close(a.extract_feat(x), b.extract_feat(x))


def test_loss_runs_with_groups_and_bad_values_fail_at_build():
    model = _train_model(bn_groups=2)
    losses = model.loss(_inputs(n=4), _samples([0, 1, 2, 3]))
    assert torch.isfinite(losses['loss_intra'])
    assert 0.0 <= float(losses['acc_batch']) <= 1.0
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match='model.bn_groups'):
            MODELS.build(tiny_cfg(bn_groups=bad))
