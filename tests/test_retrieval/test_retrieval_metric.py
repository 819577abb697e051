"""VideoRetrievalMetric / retrieval_recall against hand-computed rankings.

Expectations are written by hand (a 2-D toy gallery whose order can be read off
the angles) or come from an exact brute-force reference (integer features,
similarities compared as exact fractions, Python's sort on (-sim, index)).
"""
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope

from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from mmiivcl.retrieval import (VideoRetrievalMetric, cosine_topk,
                               first_positive_rank, retrieval_chance,
                               retrieval_recall)


def unit(deg):
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


# Toy gallery (angle in degrees, label). g1 and g4 are the same vector (a tie)
# and g0 = (1, 0), g5 = (0, 1) tie exactly for the 45-degree query (1, 1).
GALLERY = np.array([[1.0, 0.0], unit(10), unit(20), unit(30), unit(10),
                    [0.0, 1.0]])
GALLERY_LABELS = np.array([0, 1, 1, 2, 3, 4])
QUERIES = np.array([
    [1.0, 0.0],  # q0 label 0: g0 first                        -> rank 0
    unit(10),    # q1 label 3: g1 (label 1) ties g4, g1 first   -> rank 1
    unit(10),    # q2 label 1: g1 first                         -> rank 0
    unit(-40),   # q3 label 2: order g0 g1 g4 g2 g3; only g3    -> rank 4
    [1.0, 1.0],  # q4 label 4: g3 g2 g1 g4 g0 g5 (g0 ties g5)   -> rank 5
])
QUERY_LABELS = np.array([0, 3, 1, 2, 4])
HAND_RANKS = [0, 1, 0, 4, 5]


def test_hand_ranks_with_ties():
    ranks = first_positive_rank(QUERIES, QUERY_LABELS, GALLERY,
                                GALLERY_LABELS)
    assert ranks.tolist() == HAND_RANKS


def test_hand_recall_including_rank_k_plus_1():
    # q3's only same-class item sits at position 5 (rank k+1 for k=4):
    # a miss at R@4, a hit at R@5; q4 is a miss until R@6 because its
    # positive g5 ties g0 and loses on the gallery index.
    r = retrieval_recall(QUERIES, QUERY_LABELS, GALLERY, GALLERY_LABELS,
                         topk=(1, 2, 4, 5, 6))
    assert r == {'R@1': 40.0, 'R@2': 60.0, 'R@4': 60.0, 'R@5': 80.0,
                 'R@6': 100.0}


def test_feature_scale_is_irrelevant():
    r1 = retrieval_recall(QUERIES, QUERY_LABELS, GALLERY, GALLERY_LABELS,
                          topk=(1, 2, 4, 5, 6))
    scales = np.array([[3.0], [0.5], [7.0], [2.0], [11.0]])
    r2 = retrieval_recall(QUERIES * scales, QUERY_LABELS,
                          GALLERY * np.arange(1, 7)[:, None], GALLERY_LABELS,
                          topk=(1, 2, 4, 5, 6))
    assert r1 == r2


def test_query_without_positive_is_a_miss():
    r = retrieval_recall([[1.0, 0.0]], [9], GALLERY, GALLERY_LABELS,
                         topk=(1, 20))
    assert r == {'R@1': 0.0, 'R@20': 0.0}


def _exact_reference_ranks(q, ql, g, gl, exclude=None):
    """Brute force with exact arithmetic for integer features."""
    ranks = []
    for i, (qv, lab) in enumerate(zip(q, ql)):
        keys = []
        for j, gv in enumerate(g):
            if exclude is not None and exclude[i] == j:
                continue
            dot = int(np.dot(qv, gv))
            n2 = int(np.dot(gv, gv))
            # cos = dot / (|q| |g|); |q| is common to the row
            score = Fraction(dot * abs(dot), n2) if n2 else Fraction(0)
            keys.append((-score, j))
        order = [j for _, j in sorted(keys)]
        hits = [r for r, j in enumerate(order) if gl[j] == lab]
        ranks.append(hits[0] if hits else np.iinfo(np.int64).max)
    return ranks


@pytest.fixture(scope='module')
def tied_data():
    rng = np.random.default_rng(0)
    # few distinct small-integer vectors -> many exact ties
    g = rng.integers(-1, 2, (150, 3))
    g[np.all(g == 0, axis=1)] = [1, 0, 0]
    q = rng.integers(-1, 2, (40, 3))
    q[np.all(q == 0, axis=1)] = [0, 1, 0]
    return q, rng.integers(0, 5, 40), g, rng.integers(0, 5, 150)


def test_matches_exact_reference_on_many_ties(tied_data):
    q, ql, g, gl = tied_data
    got = first_positive_rank(q, ql, g, gl, chunk_size=7)
    assert got.tolist() == _exact_reference_ranks(q, ql, g, gl)


def test_exclude_matches_reference(tied_data):
    q, ql, g, gl = tied_data
    ex = np.arange(len(q)) * 3
    ex[::4] = -1
    got = first_positive_rank(q, ql, g, gl, exclude=ex)
    assert got.tolist() == _exact_reference_ranks(q, ql, g, gl, ex)


@pytest.mark.parametrize('chunk', [1, 5, 64])
def test_chunking_identical(chunk):
    rng = np.random.default_rng(1)
    g = rng.normal(size=(300, 32)).astype(np.float32)
    g[100:120] = g[0]  # exact duplicates -> ties across chunks
    q = rng.normal(size=(97, 32)).astype(np.float32)
    q[:10] = g[0]
    ql, gl = rng.integers(0, 7, 97), rng.integers(0, 7, 300)
    full = first_positive_rank(q, ql, g, gl, chunk_size=10**6)
    part = first_positive_rank(q, ql, g, gl, chunk_size=chunk)
    np.testing.assert_array_equal(full, part)
    i_full, s_full = cosine_topk(q, g, 25, chunk_size=10**6)
    i_part, s_part = cosine_topk(q, g, 25, chunk_size=chunk)
    np.testing.assert_array_equal(i_full, i_part)
    np.testing.assert_array_equal(s_full, s_part)


def test_cosine_topk_order_and_ties():
    idx, sims = cosine_topk(QUERIES, GALLERY, 6)
    # q1 (10 deg): g1 and g4 tie at 1, then g0 / g2 tie at cos 10, g3, g5
    assert idx[1].tolist() == [1, 4, 0, 2, 3, 5]
    # q4 (45 deg): g3, g2, g1/g4 tie, g0/g5 tie
    assert idx[4].tolist() == [3, 2, 1, 4, 0, 5]
    assert sims[1, 0] == sims[1, 1] == 1.0
    # a tie straddling the k boundary keeps the lower index
    idx3, _ = cosine_topk(QUERIES, GALLERY, 3)
    assert idx3[1].tolist() == [1, 4, 0]
    assert idx3[4].tolist() == [3, 2, 1]
    # brute force on random data: stable sort of rounded similarities
    rng = np.random.default_rng(2)
    g = rng.integers(-2, 3, (60, 4)).astype(float) + 1e-3
    q = rng.normal(size=(9, 4))
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = np.round(qn @ gn.T, 10)
    ref = np.argsort(-s, axis=1, kind='stable')[:, :13]
    got, _ = cosine_topk(q, g, 13, chunk_size=4)
    np.testing.assert_array_equal(got, ref)


def test_chance():
    # 1 positive among 4 items: R@1 = 1/4, R@2 = 1 - (3/4)(2/3) = 1/2
    c = retrieval_chance([0], [0, 1, 1, 1], topk=(1, 2, 4))
    assert c['R@1'] == pytest.approx(25.0)
    assert c['R@2'] == pytest.approx(50.0)
    assert c['R@4'] == pytest.approx(100.0)


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


def _toy_samples():
    """Toy data as a dataset holding both splits ('test' queries 'train')."""
    out = [_sample(f, lab, i, 'train')
           for i, (f, lab) in enumerate(zip(GALLERY, GALLERY_LABELS))]
    out += [_sample(f, lab, i, 'test')
            for i, (f, lab) in enumerate(zip(QUERIES, QUERY_LABELS))]
    return out


def test_registered_without_clash():
    m = METRICS.build(dict(type='VideoRetrievalMetric'))
    assert isinstance(m, VideoRetrievalMetric)
    assert METRICS.get('RetrievalMetric') is not VideoRetrievalMetric


def test_metric_through_evaluator_keys_and_values():
    # configs run with default_scope='mmaction'
    with DefaultScope.overwrite_default_scope('mmaction'):
        ev = Evaluator(
            [dict(type='VideoRetrievalMetric', topk=(1, 2, 4, 5, 6))])
    samples = _toy_samples()
    ev.process(data_samples=samples[:4])
    ev.process(data_samples=samples[4:])
    res = ev.evaluate(len(samples))
    assert res == {'R@1': 40.0, 'R@2': 60.0, 'R@4': 60.0, 'R@5': 80.0,
                   'R@6': 100.0}


def test_default_keys():
    m = VideoRetrievalMetric()
    m.process(None, _toy_samples())
    res = m.compute_metrics(m.results)
    assert list(res) == ['R@1', 'R@5', 'R@10', 'R@20']
    assert res['R@1'] == 40.0 and res['R@20'] == 100.0


def test_duplicates_counted_once_and_order_free():
    samples = _toy_samples()
    m = VideoRetrievalMetric(topk=(1, 2, 4, 5, 6))
    m.process(None, samples)
    ref = m.compute_metrics(m.results)
    # padding as by a 4-process sampler: repeats of the first samples, and
    # a different arrival order (rank-interleaved)
    padded = samples[::-1] + samples[:3]
    m2 = VideoRetrievalMetric(topk=(1, 2, 4, 5, 6))
    m2.process(None, padded)
    assert m2.compute_metrics(m2.results) == ref
    # a duplicated query is not counted twice: with q1 repeated 5 times R@1
    # would become 2/9 if duplicates counted
    m3 = VideoRetrievalMetric(topk=(1, 2, 4, 5, 6))
    m3.process(None, samples + [samples[7]] * 5)
    assert m3.compute_metrics(m3.results) == ref


def test_default_subset_and_constructor_roles():
    # only the queries carry metainfo; the rest default to the gallery
    gallery = [_sample(f, lab, i)
               for i, (f, lab) in enumerate(zip(GALLERY, GALLERY_LABELS))]
    queries = [_sample(f, lab, i, 'query')
               for i, (f, lab) in enumerate(zip(QUERIES, QUERY_LABELS))]
    m = VideoRetrievalMetric(topk=(1, 5), default_subset='gallery')
    m.process(None, gallery + queries)
    assert m.compute_metrics(m.results) == {'R@1': 40.0, 'R@5': 80.0}
    with pytest.raises(ValueError):
        VideoRetrievalMetric(query_subsets=('a', ), gallery_subsets=('a', ))
    m = VideoRetrievalMetric()
    m.process(None, [_sample([1, 0], 0, 0, 'bogus'),
                     _sample([1, 0], 0, 1, 'train')])
    with pytest.raises(ValueError, match='bogus'):
        m.compute_metrics(m.results)


def test_leave_one_out_without_subsets():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(30, 8))
    labels = rng.integers(0, 3, 30)
    m = VideoRetrievalMetric(topk=(1, 5))
    m.process(None, [_sample(f, lab, i)
                     for i, (f, lab) in enumerate(zip(feats, labels))])
    got = m.compute_metrics(m.results)
    # reference: each item queries the other 29
    hits = {1: 0, 5: 0}
    for i in range(30):
        others = [j for j in range(30) if j != i]
        sims = [(-round(float(np.dot(feats[i], feats[j]) /
                              np.linalg.norm(feats[i]) /
                              np.linalg.norm(feats[j])), 10), j)
                for j in others]
        order = [j for _, j in sorted(sims)]
        for k in hits:
            hits[k] += any(labels[j] == labels[i] for j in order[:k])
    assert got == {'R@1': 100 * hits[1] / 30, 'R@5': 100 * hits[5] / 30}


def test_logs_dim_and_counts():
    from unittest import mock

    from mmengine.logging import MMLogger
    m = VideoRetrievalMetric(topk=(1, ))
    m.process(None, _toy_samples() + _toy_samples()[:2])
    with mock.patch.object(MMLogger, 'info') as info:
        m.compute_metrics(m.results)
    msgs = [c.args[0] for c in info.call_args_list]
    assert len(msgs) == 1
    assert '5 queries x 6 gallery' in msgs[0]
    assert 'embedding dim 2' in msgs[0]
    assert '2 duplicate samples dropped' in msgs[0]
