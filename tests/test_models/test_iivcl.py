"""IIVCL model: loss composition (docs/design.md#loss-composition), enqueue
layout, NN before enqueue."""
import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from mmiivcl.models.losses import info_nce, nn_info_nce

TINY_BACKBONE = dict(type='ResNet3d', depth=18, pretrained=None,
                     pretrained2d=False, base_channels=8,
                     conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                     pool1_stride_t=1, inflate=(0, 0, 1, 1))


def tiny_cfg(**kw):
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layers=3)
    cfg = dict(type='IIVCL', backbone=TINY_BACKBONE, head_intra=head,
               head_nn=copy.deepcopy(head), feat_dim=16, queue_len=24,
               temperature=0.1, data_preprocessor=dict(
                   type='ActionDataPreprocessor', format_shape='NCTHW'))
    cfg.update(kw)
    return cfg


def _samples(idx):
    return [ActionDataSample(metainfo=dict(sample_idx=i)) for i in idx]


def _inputs(n=4, rho=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, rho, 3, 4, 32, 32, generator=g)


def _build(**kw):
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(**kw))
    model.init_weights()
    model.eval()  # deterministic BN for reference computations
    return model


def _encode(model, x):
    with torch.no_grad():
        f = model.encode(x)
        fk = model.pool(model.momentum_encoder['backbone'](x))
    return f, fk


@pytest.mark.parametrize('lambdas', [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0),
                                     (0.5, 2.0)])
def test_loss_equals_mean_over_pairs_of_weighted_terms(lambdas):
    li, ln = lambdas
    model = _build(lambda_intra=li, lambda_nn=ln)
    x, vid = _inputs(), torch.tensor([3, 1, 4, 1])
    for b in model.branches:  # a queue partly filled by earlier steps
        getattr(model, f'queue_{b}').enqueue(
            torch.nn.functional.normalize(torch.randn(10, 16), dim=1),
            torch.arange(50, 60))
    banks = {b: getattr(model, f'queue_{b}').feats.clone()
             for b in model.branches}
    filled = model.branches and getattr(
        model, f'queue_{model.branches[0]}').filled.clone()
    with torch.no_grad():
        losses = model.loss(x, _samples(vid.tolist()))
    f0, fk0 = _encode(model, x[:, 0])
    f1, fk1 = _encode(model, x[:, 1])
    exp = {}
    for b, fn in (('intra', info_nce), ('nn', nn_info_nce)):
        if b not in model.branches:
            assert f'loss_{b}' not in losses
            assert not hasattr(model, f'head_{b}')
            assert not hasattr(model, f'queue_{b}')
            continue
        h, hk = getattr(model, f'head_{b}'), model.momentum_encoder[f'head_{b}']
        q0, q1, k0, k1 = h(f0), h(f1), hk(fk0), hk(fk1)
        kw = dict(mask=filled) if b == 'nn' else {}  # NN: written rows only
        raw = (fn(q0, k1, banks[b], 0.1, **kw) +
               fn(q1, k0, banks[b], 0.1, **kw)) / 2
        exp[b] = raw
        w = li if b == 'intra' else ln
        assert losses[f'loss_{b}'].item() == pytest.approx(w * raw.item(),
                                                           rel=1e-4)
        assert losses[f'{b}_nce'].item() == pytest.approx(raw.item(), rel=1e-4)
        assert 0 <= losses[f'acc_{b}'].item() <= 1
    if li == 1.0 and ln == 0.0:  # the rho-MoCo baseline is info_nce alone
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert total.item() == pytest.approx(exp['intra'].item(), rel=1e-4)


def test_enqueue_layout_clip_major_with_video_indices():
    model = _build()
    x, vid = _inputs(n=3, rho=2), [5, 6, 7]
    with torch.no_grad():
        model.loss(x, _samples(vid))
    _, fk0 = _encode(model, x[:, 0])
    _, fk1 = _encode(model, x[:, 1])
    for b in model.branches:
        queue = getattr(model, f'queue_{b}')
        hk = model.momentum_encoder[f'head_{b}']
        expected = torch.cat([hk(fk0), hk(fk1)])  # clip-major
        assert torch.allclose(queue.feats[:6], expected, atol=1e-5)
        assert queue.indices[:6].tolist() == vid + vid
        assert queue.ptr.item() == 6


def test_nn_is_looked_up_before_enqueue():
    # queue full of other videos' keys: the NN must come from them, never from
    # the current batch's own keys (which would give similarity 1)
    model = _build(lambda_intra=0.0)
    with torch.no_grad():
        losses = model.loss(_inputs(seed=1), _samples([0, 1, 2, 3]))
    assert losses['nn_sim'].item() < 0.999


def test_same_video_exclusion_masks_own_keys():
    model = _build(exclude_same_video=True, queue_len=8)
    x = _inputs(n=4, rho=2, seed=2)
    with torch.no_grad():
        model.loss(x, _samples([0, 1, 2, 3]))  # queue: 8 keys of videos 0-3
        # the same videos again: every queue row belongs to the query's own
        # video for some query -> masked; NN of video v must not be video v
        q = model.queue_nn
        mask = q.valid_mask(torch.tensor([0, 1, 2, 3]))
        assert (mask.sum(1) == 6).all()
        losses = model.loss(x, _samples([0, 1, 2, 3]))
    assert torch.isfinite(losses['loss_nn'])


def test_train_step_updates_online_not_momentum_encoder():
    from mmengine.optim import OptimWrapper
    model = _build()
    model.train()
    before_k = {k: v.clone() for k, v in
                model.momentum_encoder.state_dict().items()}
    before_q = [p.clone() for p in model.backbone.parameters()]
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1))
    data = dict(inputs=[(torch.rand(2, 3, 4, 32, 32) * 255).to(torch.uint8)
                        for _ in range(4)],
                data_samples=_samples([0, 1, 2, 3]))
    log = model.train_step(data, optim)
    assert {'loss_intra', 'loss_nn', 'acc_intra', 'acc_nn', 'nn_sim'} <= set(log)
    assert any(not torch.equal(a, b) for a, b in
               zip(before_q, model.backbone.parameters()))
    for name, p in model.momentum_encoder.named_parameters():
        assert torch.equal(p, before_k[name]), name
        assert not p.requires_grad


def test_momentum_update_moves_key_towards_query():
    model = _build()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    k_before = [p.clone() for p in model.momentum_encoder['backbone'].parameters()]
    model.momentum_update(0.9)
    for pk, kb, pq in zip(model.momentum_encoder['backbone'].parameters(),
                          k_before, model.backbone.parameters()):
        assert torch.allclose(pk, 0.9 * kb + 0.1 * pq, atol=1e-6)


@pytest.mark.parametrize('kw,key', [
    (dict(lambda_intra=-1.0), 'lambda_intra'),
    (dict(lambda_intra=0.0, lambda_nn=0.0), 'lambda_nn'),
    (dict(temperature=0.0), 'temperature'),
    (dict(feat_dim=32), 'feat_dim'),
])
def test_invalid_config_raises_naming_key(kw, key):
    with pytest.raises(ValueError, match=key):
        MODELS.build(tiny_cfg(**kw))


def test_head_width_mismatch_names_key():
    cfg = tiny_cfg()
    cfg['head_intra']['in_channels'] = 99
    with pytest.raises(ValueError, match='head_intra.in_channels'):
        MODELS.build(cfg)


def test_single_clip_input_rejected():
    model = _build()
    with pytest.raises(ValueError, match='rho'):
        model.loss(_inputs(rho=1), _samples([0, 1, 2, 3]))
