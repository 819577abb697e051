"""KNNMetric / knn_accuracy: weighted votes by hand, separable and shuffled
labels, duplicates, subsets."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope

from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from mmiivcl.evaluation import KNNMetric, knn_accuracy, knn_class_scores


def unit(deg):
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def test_weighted_votes_by_hand():
    # query at 0 deg; neighbours: two of class 0 at +-60 deg (cos 0.5) and
    # one of class 1 at 25.84 deg (cos 0.9); a far item of class 2
    train = np.array([unit(60), unit(-60), unit(math.degrees(math.acos(0.9))),
                      unit(180)])
    labels = np.array([0, 0, 1, 2])
    q = np.array([[1.0, 0.0]])
    s = knn_class_scores(train, labels, q, k=3, temperature=0.1,
                         num_classes=3)
    np.testing.assert_allclose(s[0], [2 * math.exp(5), math.exp(9), 0],
                               rtol=1e-9)
    # a low temperature lets the single close neighbour win ...
    assert knn_accuracy(train, labels, q, [1], k=3, temperature=0.1,
                        topk=(1, ))['top1'] == 100.0
    # ... a high one approaches the majority vote
    s = knn_class_scores(train, labels, q, k=3, temperature=10.0,
                         num_classes=3)
    np.testing.assert_allclose(
        s[0], [2 * math.exp(0.05), math.exp(0.09), 0], rtol=1e-9)
    assert knn_accuracy(train, labels, q, [0], k=3, temperature=10.0,
                        topk=(1, ))['top1'] == 100.0
    # k=4 adds the far neighbour's vote exp(-1/T)
    s = knn_class_scores(train, labels, q, k=4, temperature=0.5,
                         num_classes=3)
    assert s[0, 2] == pytest.approx(math.exp(-2.0))


def _blobs(rng, n, num_classes, dim=16, noise=0.3):
    centres = np.eye(dim)[:num_classes] * 3.0
    y = rng.integers(0, num_classes, n)
    return centres[y] + rng.normal(0, noise, (n, dim)), y


def test_separable_is_100_percent():
    rng = np.random.default_rng(0)
    xt, yt = _blobs(rng, 200, 6)
    xv, yv = _blobs(rng, 100, 6)
    acc = knn_accuracy(xt, yt, xv, yv, k=20, temperature=0.07,
                       topk=(1, 5), chunk_size=16)
    assert acc == {'top1': 100.0, 'top5': 100.0}


def test_shuffled_labels_near_chance():
    rng = np.random.default_rng(1)
    xt, yt = _blobs(rng, 2000, 10)
    xv, yv = _blobs(rng, 1000, 10)
    yt_shuffled = rng.permutation(yt)
    acc = knn_accuracy(xt, yt_shuffled, xv, yv, k=20, temperature=0.07,
                       topk=(1, 5))
    # chance top-1 = 10 %, top-5 = 50 %; binomial sd over 1000 is ~1 / 1.6
    assert 5.0 < acc['top1'] < 15.0
    assert 42.0 < acc['top5'] < 58.0


def test_chunking_identical():
    rng = np.random.default_rng(2)
    xt, yt = _blobs(rng, 300, 5, noise=2.0)
    xv, _ = _blobs(rng, 77, 5, noise=2.0)
    a = knn_class_scores(xt, yt, xv, k=15, chunk_size=10**6)
    b = knn_class_scores(xt, yt, xv, k=15, chunk_size=3)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- the metric
def _sample(feat, label, idx, subset=None):
    ds = ActionDataSample()
    ds.set_gt_label(int(label))
    meta = {'sample_idx': idx}
    if subset is not None:
        meta['subset'] = subset
    ds.set_metainfo(meta)
    ds.feat = torch.as_tensor(np.asarray(feat), dtype=torch.float32)
    return ds.to_dict()


def test_metric_train_val_subsets_and_keys():
    rng = np.random.default_rng(3)
    xt, yt = _blobs(rng, 120, 4)
    xv, yv = _blobs(rng, 40, 4)
    samples = [_sample(f, y, i, 'train')
               for i, (f, y) in enumerate(zip(xt, yt))]
    samples += [_sample(f, y, i, 'val')
                for i, (f, y) in enumerate(zip(xv, yv))]
    with DefaultScope.overwrite_default_scope('mmaction'):
        ev = Evaluator([dict(type='KNNMetric', k=10, topk=(1, 2))])
    ev.process(data_samples=samples)
    res = ev.evaluate(len(samples))
    assert res == {'knn_top1': 100.0, 'knn_top2': 100.0}
    assert isinstance(METRICS.build(dict(type='KNNMetric')), KNNMetric)


def test_metric_duplicates_counted_once():
    # 3 val samples: two classified right, one wrong -> 66.67 %. Repeating
    # the wrong one (distributed padding) must not change the result.
    train = [_sample([1, 0], 0, 0, 'train'), _sample([0, 1], 1, 1, 'train')]
    val = [_sample([1, 0.1], 0, 0, 'val'), _sample([0.1, 1], 1, 1, 'val'),
           _sample([1, 0.2], 1, 2, 'val')]
    m = KNNMetric(k=1, topk=(1, ))
    m.process(None, train + val)
    ref = m.compute_metrics(m.results)
    assert ref['knn_top1'] == pytest.approx(200 / 3)
    m = KNNMetric(k=1, topk=(1, ))
    m.process(None, val[::-1] + train + [val[2]] * 3 + [train[0]])
    assert m.compute_metrics(m.results) == ref


def test_metric_leave_one_out_without_subsets():
    rng = np.random.default_rng(4)
    x, y = _blobs(rng, 60, 3, noise=1.5)
    m = KNNMetric(k=5, topk=(1, ))
    m.process(None, [_sample(f, lab, i) for i, (f, lab) in
                     enumerate(zip(x, y))])
    got = m.compute_metrics(m.results)['knn_top1']
    # reference with plain loops: each sample voted by the 5 nearest others
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    correct = 0
    for i in range(60):
        sims = sorted(((-round(float(xn[i] @ xn[j]), 10), j)
                       for j in range(60) if j != i))[:5]
        votes = np.zeros(3)
        for s, j in sims:
            votes[y[j]] += math.exp(-s / 0.07)
        correct += int(np.argmax(votes) == y[i])
    assert got == pytest.approx(100 * correct / 60)
