"""info_nce / nn_info_nce against per-row references written with plain loops."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmiivcl.models.losses import info_nce, nearest_neighbour, nn_info_nce


def _unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g), dim=-1)


def ref_info_nce(q, k, queue, tau, valid=None):
    total = 0.0
    for n in range(q.shape[0]):
        pos = math.exp(float(q[n] @ k[n]) / tau)
        den = pos
        for j in range(queue.shape[0]):
            if valid is None or bool(valid[n][j]):
                den += math.exp(float(q[n] @ queue[j]) / tau)
        total += -math.log(pos / den)
    return total / q.shape[0]


def ref_nn_info_nce(q, k, queue, tau, valid=None):
    total = 0.0
    for n in range(q.shape[0]):
        best, best_j = -1e9, None
        for j in range(queue.shape[0]):
            if valid is not None and not bool(valid[n][j]):
                continue
            s = float(k[n] @ queue[j])
            if s > best:
                best, best_j = s, j
        pos = math.exp(float(q[n] @ queue[best_j]) / tau)
        den = pos
        for j in range(queue.shape[0]):
            if j == best_j or (valid is not None and not bool(valid[n][j])):
                continue
            den += math.exp(float(q[n] @ queue[j]) / tau)
        total += -math.log(pos / den)
    return total / q.shape[0]


@pytest.mark.parametrize('tau', [0.1, 0.5])
def test_info_nce_matches_loop_reference(tau):
    q, k, queue = _unit(5, 16, seed=1), _unit(5, 16, seed=2), _unit(11, 16, seed=3)
    got = info_nce(q, k, queue, tau)
    assert got.item() == pytest.approx(ref_info_nce(q, k, queue, tau), rel=1e-5)


def test_info_nce_mask_removes_rows_from_denominator():
    q, k, queue = _unit(4, 8, seed=4), _unit(4, 8, seed=5), _unit(9, 8, seed=6)
    valid = torch.rand(4, 9, generator=torch.Generator().manual_seed(0)) > 0.4
    got = info_nce(q, k, queue, 0.2, mask=valid)
    assert got.item() == pytest.approx(
        ref_info_nce(q, k, queue, 0.2, valid), rel=1e-5)


def test_nn_info_nce_matches_loop_reference_nn_absent_from_denominator():
    q, k, queue = _unit(6, 16, seed=7), _unit(6, 16, seed=8), _unit(13, 16, seed=9)
    got = nn_info_nce(q, k, queue, 0.1)
    assert got.item() == pytest.approx(ref_nn_info_nce(q, k, queue, 0.1), rel=1e-5)
    # the NN's own row absent: keeping it would give a different (larger) loss
    with_nn = ref_info_nce(q, queue[nearest_neighbour(k, queue)[0]], queue, 0.1)
    assert with_nn > got.item()


def test_nn_info_nce_with_mask_matches_reference():
    q, k, queue = _unit(5, 8, seed=10), _unit(5, 8, seed=11), _unit(12, 8, seed=12)
    valid = torch.rand(5, 12, generator=torch.Generator().manual_seed(3)) > 0.3
    valid[:, 0] = True  # every row keeps at least one candidate
    got = nn_info_nce(q, k, queue, 0.1, mask=valid)
    assert got.item() == pytest.approx(
        ref_nn_info_nce(q, k, queue, 0.1, valid), rel=1e-5)
    # (K,) mask form broadcasts to every row
    got1 = nn_info_nce(q, k, queue, 0.1, mask=valid[0])
    assert got1.item() == pytest.approx(
        ref_nn_info_nce(q, k, queue, 0.1, valid[0].expand(5, 12)), rel=1e-5)


def test_exact_copy_of_key_in_queue_is_the_nn():
    k = _unit(3, 8, seed=13)
    queue = _unit(20, 8, seed=14)
    queue[[4, 11, 17]] = k
    idx, sim, found = nearest_neighbour(k, queue)
    assert idx.tolist() == [4, 11, 17]
    assert torch.allclose(sim, torch.ones(3)) and found.all()


def test_gradient_reaches_query_only():
    q = _unit(4, 8, seed=15).requires_grad_()
    k = _unit(4, 8, seed=16).requires_grad_()
    queue = _unit(10, 8, seed=17).requires_grad_()
    (info_nce(q, k, queue, 0.1) + nn_info_nce(q, k, queue, 0.1)).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    assert k.grad is None and queue.grad is None


def test_row_without_candidate_falls_back_to_key():
    q, k, queue = _unit(2, 8, seed=18), _unit(2, 8, seed=19), _unit(5, 8, seed=20)
    valid = torch.zeros(2, 5, dtype=torch.bool)
    # nothing valid: the positive is the key and no negatives remain -> 0 loss
    assert nn_info_nce(q, k, queue, 0.1, mask=valid).item() == pytest.approx(0.0)


def test_bad_mask_shape_raises():
    q, k, queue = _unit(2, 8), _unit(2, 8), _unit(5, 8)
    with pytest.raises(ValueError):
        info_nce(q, k, queue, 0.1, mask=torch.ones(3, 5, dtype=torch.bool))
