"""FeatureQueue: FIFO order, wrap-around, indices in step, state_dict round trip."""
import pytest
import torch
import torch.nn.functional as F

from mmiivcl.models.utils import FeatureQueue


def _keys(n, d, start):
    # key i has a recognisable first coordinate
    x = torch.zeros(n, d)
    x[:, 0] = torch.arange(start, start + n, dtype=torch.float)
    return x


def test_fifo_order_and_indices():
    q = FeatureQueue(8, 4)
    assert not q.filled.any()
    q.enqueue(_keys(3, 4, 0), torch.tensor([10, 11, 12]))
    assert q.ptr.item() == 3
    assert q.feats[:3, 0].tolist() == [0, 1, 2]
    assert q.indices[:3].tolist() == [10, 11, 12]
    assert q.filled.tolist() == [True] * 3 + [False] * 5


def test_wrap_around_with_length_not_divisible_by_batch():
    q = FeatureQueue(7, 2)
    written = []
    for step in range(5):  # 5 x 3 = 15 keys through a queue of 7
        keys = _keys(3, 2, 3 * step)
        q.enqueue(keys, torch.arange(3 * step, 3 * step + 3))
        written.extend(range(3 * step, 3 * step + 3))
    # the queue holds the newest 7 keys; each row's index matches its key
    assert q.ptr.item() == 15 % 7
    assert sorted(q.feats[:, 0].long().tolist()) == written[-7:]
    assert torch.equal(q.feats[:, 0].long(), q.indices)
    # FIFO: the oldest surviving key sits at ptr
    order = [(q.ptr.item() + i) % 7 for i in range(7)]
    assert q.indices[order].tolist() == written[-7:]


def test_batch_larger_than_queue_keeps_newest():
    q = FeatureQueue(4, 2)
    q.enqueue(_keys(2, 2, 0), torch.arange(2))
    q.enqueue(_keys(6, 2, 100), torch.arange(100, 106))
    assert sorted(q.indices.tolist()) == [102, 103, 104, 105]
    assert torch.equal(q.feats[:, 0].long(), q.indices)
    order = [(q.ptr.item() + i) % 4 for i in range(4)]
    assert q.indices[order].tolist() == [102, 103, 104, 105]


def test_state_dict_round_trip_and_persistence():
    q = FeatureQueue(5, 3)
    q.enqueue(F.normalize(torch.randn(4, 3), dim=1), torch.arange(4))
    sd = q.state_dict()
    assert set(sd) == {'feats', 'indices', 'ptr'}
    q2 = FeatureQueue(5, 3)
    q2.load_state_dict(sd)
    for k in sd:
        assert torch.equal(getattr(q2, k), getattr(q, k))


def test_valid_mask_excludes_same_video_and_unfilled():
    q = FeatureQueue(6, 2)
    q.enqueue(_keys(4, 2, 0), torch.tensor([7, 8, 7, 9]))
    m = q.valid_mask(torch.tensor([7, 9]))
    assert m.tolist() == [[False, True, False, True, False, False],
                          [True, True, True, False, False, False]]


def test_bad_sizes_raise():
    with pytest.raises(ValueError):
        FeatureQueue(0, 4)
    q = FeatureQueue(4, 3)
    with pytest.raises(ValueError):
        q.enqueue(torch.zeros(2, 5), torch.arange(2))
    with pytest.raises(ValueError):
        q.enqueue(torch.zeros(2, 3), torch.arange(3))
