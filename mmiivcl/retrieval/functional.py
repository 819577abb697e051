"""Zero-shot video retrieval, the maths: Recall@k of cosine nearest neighbours.

Protocol (docs/design.md#downstream-protocols; IIVCL paper, Sec. 4.8 and
Table 7): no training; the backbone feature of each *query* video searches a
*gallery* by cosine similarity; R@k is the percentage of queries that have at
least one gallery video of their own label among their k most similar gallery
videos. The standard protocol uses the test split as queries and the train
split as the gallery; the demo uses a held-out query split against the
pretraining split.

Features are L2-normalised, similarities are computed in float64 and rounded to
``SIM_DECIMALS`` decimals so that equal vectors give *exactly* equal scores
whatever the BLAS blocking, and the gallery order is (-similarity, gallery
index): among equal similarities the lower gallery index ranks first. Queries
are processed ``chunk_size`` rows at a time, so at most a
(chunk_size, num_gallery) block of similarities exists at once (20k x 20k fits
easily: 512 x 20000 x 8 B = 80 MB per block).

Everything here is numpy on arrays; :mod:`.metric` wraps it as an mmengine
metric and :mod:`.pipeline` extracts the features from videos. The pure top-k
search :func:`cosine_topk` is shared with the kNN monitor.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

ArrayLike = Union[np.ndarray, Sequence]

#: Similarities are rounded to this many decimals before ranking (see above).
SIM_DECIMALS = 10

_NO_HIT = np.iinfo(np.int64).max


def l2_normalize(feats: ArrayLike, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation in float64.

    Args:
        feats: (N, C) features.

    Returns:
        (N, C) float64 rows of unit norm (all-zero rows stay zero).
    """
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f'features must be (N, C), got shape {x.shape}')
    if not np.all(np.isfinite(x)):
        raise ValueError('features contain NaN or inf')
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, eps)


def _similarity_block(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Cosine similarities (c, Ng) of unit rows, rounded for exact ties."""
    return np.round(q @ g.T, SIM_DECIMALS)


def _check_pair(query_feats, gallery_feats, query_labels=None,
                gallery_labels=None):
    q = l2_normalize(query_feats)
    g = l2_normalize(gallery_feats)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f'query dim {q.shape[1]} != gallery dim {g.shape[1]}')
    out = [q, g]
    for name, lab, n in (('query', query_labels, len(q)),
                         ('gallery', gallery_labels, len(g))):
        if lab is not None:
            lab = np.asarray(lab).reshape(-1).astype(np.int64)
            if len(lab) != n:
                raise ValueError(f'{name} labels: {len(lab)} for {n} features')
        out.append(lab)
    return out


def _check_exclude(exclude, num_query: int) -> Optional[np.ndarray]:
    if exclude is None:
        return None
    ex = np.asarray(exclude, dtype=np.int64).reshape(-1)
    if len(ex) != num_query:
        raise ValueError(f'exclude has {len(ex)} entries for {num_query} '
                         'queries')
    return ex


def first_positive_rank(query_feats: ArrayLike,
                        query_labels: ArrayLike,
                        gallery_feats: ArrayLike,
                        gallery_labels: ArrayLike,
                        chunk_size: int = 512,
                        exclude: Optional[ArrayLike] = None) -> np.ndarray:
    """0-based rank of the first same-label gallery item of each query.

    The gallery is ordered by (−cosine similarity, gallery index). A query is
    a hit at k iff its rank is < k.

    Args:
        query_feats: (Nq, C) features (normalised here).
        query_labels: (Nq,) integer labels.
        gallery_feats: (Ng, C) features.
        gallery_labels: (Ng,) integer labels.
        chunk_size: queries per similarity block.
        exclude: optional (Nq,) gallery index each query must ignore (e.g. its
            own index for leave-one-out); -1 = none. An excluded item neither
            counts as a hit nor takes a rank.

    Returns:
        (Nq,) int64 ranks; ``np.iinfo(np.int64).max`` for a query without any
        same-label gallery item.
    """
    q, g, ql, gl = _check_pair(query_feats, gallery_feats, query_labels,
                               gallery_labels)
    ex = _check_exclude(exclude, len(q))
    nq, ng = len(q), len(g)
    ranks = np.full(nq, _NO_HIT, dtype=np.int64)
    if nq == 0 or ng == 0:
        return ranks
    cols = np.arange(ng)
    for s in range(0, nq, max(int(chunk_size), 1)):
        e = min(s + int(chunk_size), nq)
        sims = _similarity_block(q[s:e], g)  # (c, Ng)
        valid = np.ones_like(sims, dtype=bool)
        if ex is not None:
            rows = np.flatnonzero(ex[s:e] >= 0)
            valid[rows, ex[s:e][rows]] = False
        pos = (ql[s:e, None] == gl[None, :]) & valid
        has_pos = pos.any(axis=1)
        best = np.where(pos, sims, -np.inf).max(axis=1)  # s*
        # lowest gallery index among the positives reaching s*
        p_star = np.argmax(pos & (sims == best[:, None]), axis=1)
        ahead = valid & ((sims > best[:, None]) |
                         ((sims == best[:, None]) &
                          (cols[None, :] < p_star[:, None])))
        r = ahead.sum(axis=1).astype(np.int64)
        ranks[s:e] = np.where(has_pos, r, _NO_HIT)
    return ranks


def retrieval_recall(query_feats: ArrayLike,
                     query_labels: ArrayLike,
                     gallery_feats: ArrayLike,
                     gallery_labels: ArrayLike,
                     topk: Sequence[int] = (1, 5, 10, 20),
                     chunk_size: int = 512,
                     exclude: Optional[ArrayLike] = None) -> Dict[str, float]:
    """Recall@k in percent: ``{'R@1': ..., 'R@5': ...}``.

    R@k = 100 * |{queries whose rank of first same-label gallery item < k}| /
    |queries|. Queries without any same-label gallery item count as misses.
    See :func:`first_positive_rank` for the arguments.
    """
    ranks = first_positive_rank(query_feats, query_labels, gallery_feats,
                                gallery_labels, chunk_size, exclude)
    n = max(len(ranks), 1)
    return {f'R@{k}': float(100.0 * np.sum(ranks < k) / n) for k in topk}


def retrieval_chance(query_labels: ArrayLike,
                     gallery_labels: ArrayLike,
                     topk: Sequence[int] = (1, 5, 10, 20)) -> Dict[str, float]:
    """Expected R@k (percent) of a random gallery ordering.

    For a query with ``p`` same-label items among ``n`` gallery items, the
    probability that none of k random picks is positive is
    C(n-p, k) / C(n, k) = prod_{i<k} (n-p-i)/(n-i).
    """
    ql = np.asarray(query_labels).reshape(-1)
    gl = np.asarray(gallery_labels).reshape(-1)
    n = len(gl)
    labels, counts = np.unique(gl, return_counts=True)
    pos = dict(zip(labels.tolist(), counts.tolist()))
    out = {}
    for k in topk:
        vals = []
        for lab in ql.tolist():
            p = pos.get(lab, 0)
            miss = 1.0
            for i in range(min(k, n)):
                miss *= max(n - p - i, 0) / (n - i)
            vals.append(1.0 - miss)
        out[f'R@{k}'] = float(100.0 * np.mean(vals)) if vals else 0.0
    return out


def cosine_topk(query_feats: ArrayLike,
                gallery_feats: ArrayLike,
                k: int,
                chunk_size: int = 512,
                exclude: Optional[ArrayLike] = None
                ) -> Tuple[np.ndarray, np.ndarray]:
    """The k most cosine-similar gallery items of every query.

    Deterministic: ordered by (−similarity, gallery index), also across the
    boundary of the top-k (a tie at the k-th place keeps the lower indices).

    Args:
        query_feats: (Nq, C).
        gallery_feats: (Ng, C).
        k: neighbours per query (``min(k, Ng - excluded)`` are returned).
        chunk_size: queries per similarity block.
        exclude: optional (Nq,) gallery index to skip per query (-1 = none).

    Returns:
        indices (Nq, k') int64 and similarities (Nq, k') float64.
    """
    q, g, _, _ = _check_pair(query_feats, gallery_feats)
    ex = _check_exclude(exclude, len(q))
    nq, ng = len(q), len(g)
    kk = min(int(k), ng - (1 if ex is not None and np.any(ex >= 0) else 0))
    if kk <= 0 or nq == 0:
        return (np.zeros((nq, 0), np.int64), np.zeros((nq, 0), np.float64))
    idx_out = np.empty((nq, kk), np.int64)
    sim_out = np.empty((nq, kk), np.float64)
    for s in range(0, nq, max(int(chunk_size), 1)):
        e = min(s + int(chunk_size), nq)
        sims = _similarity_block(q[s:e], g)
        if ex is not None:
            rows = np.flatnonzero(ex[s:e] >= 0)
            sims[rows, ex[s:e][rows]] = -np.inf
        # the kk-th largest value, then exactly kk columns: all strictly
        # greater ones plus the lowest-index ones equal to it
        thr = np.partition(sims, ng - kk, axis=1)[:, ng - kk]
        gt = sims > thr[:, None]
        eq = sims == thr[:, None]
        need = kk - gt.sum(axis=1)
        sel = gt | (eq & (np.cumsum(eq, axis=1) <= need[:, None]))
        cols = np.nonzero(sel)[1].reshape(e - s, kk)
        vals = np.take_along_axis(sims, cols, axis=1)
        order = np.lexsort((cols, -vals), axis=1)
        idx_out[s:e] = np.take_along_axis(cols, order, axis=1)
        sim_out[s:e] = np.take_along_axis(vals, order, axis=1)
    return idx_out, sim_out


def recall_mean_std(results: Sequence[Dict[str, float]],
                    topk: Sequence[int] = (1, 5, 10, 20)
                    ) -> Dict[str, Tuple[float, float]]:
    """Mean and sample std (ddof=1, NaN for one run) of R@k over runs (e.g.
    seeds): :func:`mmiivcl.experiments.stats.mean_std`, the one definition
    every table uses."""
    from mmiivcl.experiments.stats import mean_std as _mean_std
    return {f'R@{k}': _mean_std([r[f'R@{k}'] for r in results])
            for k in topk}


def format_retrieval_table(rows: Dict[str, Dict[str, float]],
                           topk: Sequence[int] = (1, 5, 10, 20),
                           extra: Optional[Dict[str, Dict[str, Any]]] = None
                           ) -> str:
    """A Markdown table: one row per name, one column per R@k (percent).

    Values may be floats or ``(mean, std)`` pairs (printed ``m ± s``).
    """
    cols = [f'R@{k}' for k in topk]
    head = '| | ' + ' | '.join(cols) + ' |'
    sep = '|---|' + '---:|' * len(cols)
    lines = [head, sep]
    for name, m in rows.items():
        vals = []
        for c in cols:
            v = m.get(c, float('nan'))
            if isinstance(v, (tuple, list)):
                vals.append(f'{v[0]:.2f} ± {v[1]:.2f}')
            else:
                vals.append(f'{v:.2f}')
        lines.append(f'| {name} | ' + ' | '.join(vals) + ' |')
    return '\n'.join(lines)
