"""IIVCL's objective at the paper's scale, against a plain-loop reference.

IIVCL paper, Eq. 5 and Algorithm 1 (``total_loss = L(q1, k2) + L(q2, k1)``);
SlowFast rho-MoCo for rho > 2: total = sum over query clips i of the mean
over the other clips j != i of lambda_intra * L_intra(q_i, k_j) +
lambda_nn * L_NN(q_i, k_j), each L the mean over the batch's videos.

The model runs on a stub backbone and stub heads registered here, so the
embeddings are fixed unit vectors chosen by the test: the intra head is the
identity, the NN head reverses the coordinates (a different, still unit,
embedding, so the two branches and their queues differ). The reference below
recomputes every term with Python loops over videos, pairs and queue rows.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.model import BaseModule

TAU = 0.1
D = 8


@MODELS.register_module(force=True)
class _EmbeddingStubBackbone(BaseModule):
    """(n, D, 1, 1, 1) inputs are the features (global pooling keeps them)."""

    def forward(self, x):
        return x


@MODELS.register_module(force=True)
class _EmbeddingStubHead(BaseModule):
    """Identity (``flip=False``) or coordinate reversal, both norm-keeping."""

    def __init__(self, flip: bool = False, out_channels: int = D):
        super().__init__()
        self.flip = flip
        self.out_channels = out_channels

    def forward(self, x):
        return x.flip(1) if self.flip else x


def _model(lambdas, **kw):
    li, ln = lambdas
    cfg = dict(type='IIVCL', backbone=dict(type='_EmbeddingStubBackbone'),
               head_intra=dict(type='_EmbeddingStubHead') if li else None,
               head_nn=dict(type='_EmbeddingStubHead', flip=True) if ln
               else None,
               lambda_intra=li, lambda_nn=ln, feat_dim=D, temperature=TAU,
               shuffle_bn=False, **kw)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _unit(n, rho, seed):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, rho, D, generator=g), dim=2)


def _samples(ids):
    return [ActionDataSample(metainfo=dict(sample_idx=i)) for i in ids]


def _as_input(e):
    return e.view(*e.shape, 1, 1, 1)


# --------------------------------------------------------------------------
# plain-loop reference (scalars only)
def _dot(a, b):
    return sum(a[d] * b[d] for d in range(len(a)))


def _infonce(q, pos, negs):
    """-log exp(q.pos/tau) / (exp(q.pos/tau) + sum exp(q.neg/tau))."""
    num = torch.exp(_dot(q, pos) / TAU)
    den = num + sum(torch.exp(_dot(q, r) / TAU) for r in negs)
    return -torch.log(num / den)


def _nn_index(k, rows):
    sims = [float(_dot(k, r)) for r in rows]
    return max(range(len(rows)), key=lambda r: sims[r])


def _reference(e, queue_rows, lambdas, mask_nn_in_intra=False):
    """Paper-scale intra and NN losses of one step.

    Args:
        e: (N, rho, D) unit embeddings of this step (queries and keys).
        queue_rows: list of (D,) unit rows of the intra queue as enqueued
            by the first step (the NN queue holds their reversal).
    """
    li, ln = lambdas
    n, rho = e.shape[:2]
    flip = [r.flip(0) for r in queue_rows]
    out = {}
    for b, w in (('intra', li), ('nn', ln)):
        if not w:
            continue
        total = 0.
        for i in range(rho):
            per_key = 0.
            for j in range(rho):
                if j == i:
                    continue
                nn_picks = {_nn_index(e[v, j].detach().flip(0), flip)
                            for v in range(n)}
                pair = 0.
                for v in range(n):
                    if b == 'intra':
                        negs = [r for idx, r in enumerate(queue_rows)
                                if not (mask_nn_in_intra and idx in nn_picks)]
                        pair = pair + _infonce(e[v, i], e[v, j].detach(), negs)
                    else:
                        q = e[v, i].flip(0)
                        nn = _nn_index(e[v, j].detach().flip(0), flip)
                        negs = [r for idx, r in enumerate(flip) if idx != nn]
                        pair = pair + _infonce(q, flip[nn], negs)
                per_key = per_key + pair / n
            total = total + per_key / (rho - 1)
        out[b] = w * total
    return out


def _run(lambdas, rho, **kw):
    n_first, n = 3, 4
    model = _model(lambdas, queue_len=rho * n_first, **kw)
    first = _unit(n_first, rho, seed=1)
    with torch.no_grad():  # first step fills the queue exactly
        model.loss(_as_input(first), _samples([100, 101, 102]))
    e = _unit(n, rho, seed=2).requires_grad_(True)
    losses = model.loss(_as_input(e), _samples([0, 1, 2, 3]))
    total = sum(v for k, v in losses.items() if 'loss' in k)
    grad_model, = torch.autograd.grad(total, e)
    rows = list(first.transpose(0, 1).reshape(-1, D))  # clip-major
    e_ref = e.detach().clone().requires_grad_(True)
    ref = _reference(e_ref, rows, lambdas,
                     mask_nn_in_intra=kw.get('mask_nn_in_intra', False))
    grad_ref, = torch.autograd.grad(sum(ref.values()), e_ref)
    return losses, ref, grad_model, grad_ref


@pytest.mark.parametrize('rho', [2, 4])
@pytest.mark.parametrize('lambdas', [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
def test_losses_and_gradients_equal_plain_loop_reference(lambdas, rho):
    losses, ref, g_model, g_ref = _run(lambdas, rho)
    for b in ('intra', 'nn'):
        if b in ref:
            assert losses[f'loss_{b}'].item() == pytest.approx(
                ref[b].item(), abs=1e-5), b
            # unweighted value at the same (paper) scale; lambdas are 0/1 here
            assert losses[f'{b}_nce'].item() == pytest.approx(
                ref[b].item(), abs=1e-5), b
        else:
            assert f'loss_{b}' not in losses
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert total.item() == pytest.approx(sum(ref.values()).item(), abs=1e-5)
    assert torch.allclose(g_model, g_ref, atol=1e-5)


def test_scale_is_sum_over_query_clips():
    # the old convention (mean over the rho (rho - 1) ordered pairs) is 1/rho
    # of the paper's objective: the reference must not agree with it
    for rho in (2, 4):
        losses, ref, _, _ = _run((1.0, 0.0), rho)
        mean_over_pairs = ref['intra'] / rho
        assert losses['loss_intra'].item() != pytest.approx(
            mean_over_pairs.item(), rel=1e-3)
        assert losses['loss_intra'].item() / mean_over_pairs.item() == \
            pytest.approx(rho, rel=1e-5)


def test_mask_nn_in_intra_matches_algorithm_1():
    lambdas = (1.0, 1.0)
    losses, ref, g_model, g_ref = _run(lambdas, 2, mask_nn_in_intra=True)
    assert losses['loss_intra'].item() == pytest.approx(ref['intra'].item(),
                                                        abs=1e-5)
    assert losses['loss_nn'].item() == pytest.approx(ref['nn'].item(),
                                                     abs=1e-5)
    assert torch.allclose(g_model, g_ref, atol=1e-5)
    # and it changes the intra loss (removed negatives -> smaller loss)
    plain, _, _, _ = _run(lambdas, 2)
    assert losses['loss_intra'].item() < plain['loss_intra'].item()


def test_mask_nn_in_intra_needs_both_branches():
    with pytest.raises(ValueError, match='mask_nn_in_intra'):
        _model((1.0, 0.0), queue_len=6, mask_nn_in_intra=True)


def test_reference_infonce_is_the_textbook_value():
    # guard the reference itself: one row, one negative, closed form
    q = torch.tensor([1., 0.], dtype=torch.float64)
    pos = torch.tensor([0.6, 0.8], dtype=torch.float64)
    neg = torch.tensor([0., 1.], dtype=torch.float64)
    exp = -math.log(math.exp(0.6 / TAU) /
                    (math.exp(0.6 / TAU) + math.exp(0.0 / TAU)))
    assert _infonce(q, pos, [neg]).item() == pytest.approx(exp, rel=1e-6)
