"""Zero-shot video retrieval: Recall@k of cosine nearest neighbours.

Protocol (docs/design.md#downstream-protocols; IIVCL paper, Sec. 4.8 and Table
7): no training; the
backbone feature of each *query* video searches a *gallery* by cosine
similarity; R@k is the percentage of queries that have at least one gallery
video of their own label among their k most similar gallery videos. The
standard protocol uses the test split as queries and the train split as the
gallery; the demo uses a held-out query split against the pretraining split.

Features are L2-normalised, similarities are computed in float64 and rounded to
``SIM_DECIMALS`` decimals so that equal vectors give *exactly* equal scores
whatever the BLAS blocking, and the gallery order is (−similarity, gallery
index): among equal similarities the lower gallery index ranks first. Queries
are processed ``chunk_size`` rows at a time, so at most a
(chunk_size, num_gallery) block of similarities exists at once (20k x 20k fits
easily: 512 x 20000 x 8 B = 80 MB per block).

This module also holds the helpers shared with :mod:`.knn_metric`: the pure
top-k search :func:`cosine_topk`, and the collection / de-duplication of
per-sample features (:func:`collect_feature_records`).
"""
from __future__ import annotations

from typing import (Dict, Iterable, List, Optional, Sequence, Tuple, Union)

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmaction.registry import METRICS

ArrayLike = Union[np.ndarray, Sequence]

#: Similarities are rounded to this many decimals before ranking (see above).
SIM_DECIMALS = 10

#: Subset names that make a sample a query / a gallery item (metainfo key
#: ``subset``); a test split queries a train split in the standard protocol.
DEFAULT_QUERY_SUBSETS = ('query', 'test', 'val')
DEFAULT_GALLERY_SUBSETS = ('gallery', 'train')

_NO_HIT = np.iinfo(np.int64).max


# --------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# per-sample records shared by the metrics
# --------------------------------------------------------------------------
def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu()
        if x.dtype.is_floating_point:
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def parse_feature_sample(data_sample: dict,
                         subset_key: str = 'subset',
                         default_subset: Optional[str] = None,
                         feat_key: str = 'feat') -> dict:
    """One evaluation sample -> ``dict(feat, label, sample_idx, subset)``.

    ``data_sample`` is the ``to_dict()`` of an ``ActionDataSample`` (what
    mmengine's evaluator passes to ``process``): ``feat`` (C,), ``gt_label``
    (int or a 1-element tensor; -1 or missing = unlabelled) and metainfo keys
    such as ``sample_idx`` and ``subset`` at the top level.
    """
    if feat_key not in data_sample:
        raise KeyError(f'data sample has no {feat_key!r}: the model must set '
                       'it in predict mode (BaseMomentumContrast does)')
    feat = _to_numpy(data_sample[feat_key]).astype(np.float32).reshape(-1)
    label = data_sample.get('gt_label', -1)
    label = _to_numpy(label).reshape(-1)
    if label.size > 1:
        raise ValueError('multi-label gt_label is not supported for '
                         f'retrieval/kNN (got {label.size} labels)')
    label = int(label[0]) if label.size == 1 else -1
    idx = data_sample.get('sample_idx', None)
    subset = data_sample.get(subset_key, default_subset)
    return dict(feat=feat, label=label,
                sample_idx=None if idx is None else int(_to_numpy(idx)),
                subset=None if subset is None else str(subset))


def collect_feature_records(results: Iterable[dict]
                            ) -> Tuple[List[dict], int]:
    """De-duplicate records by ``(subset, sample_idx)`` and sort them.

    A distributed sampler pads the last batch with repeats of the first
    samples, so a sample may arrive more than once; its first occurrence is
    kept. Records are sorted by (subset, sample_idx), so the gallery index used
    for tie-breaking is the dataset index whatever the number of processes.
    Records without ``sample_idx`` cannot be matched and are all kept, after
    the indexed ones, in arrival order.

    Returns:
        (records, number of dropped duplicates)
    """
    seen = {}
    unindexed = []
    dropped = 0
    for r in results:
        if r['sample_idx'] is None:
            unindexed.append(r)
            continue
        key = (r['subset'] or '', r['sample_idx'])
        if key in seen:
            dropped += 1
            continue
        seen[key] = r
    records = [seen[k] for k in sorted(seen)] + unindexed
    return records, dropped


def _stack(records: Sequence[dict]) -> Tuple[np.ndarray, np.ndarray]:
    if not records:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    feats = np.stack([r['feat'] for r in records])
    labels = np.array([r['label'] for r in records], dtype=np.int64)
    return feats, labels


def split_records(records: Sequence[dict], first: Sequence[str],
                  second: Sequence[str]) -> Tuple[List[dict], List[dict]]:
    """Split records by subset name; unknown names raise."""
    a, b = [], []
    for r in records:
        if r['subset'] in first:
            a.append(r)
        elif r['subset'] in second:
            b.append(r)
        else:
            raise ValueError(
                f'sample {r["sample_idx"]} has subset {r["subset"]!r}, '
                f'expected one of {tuple(first) + tuple(second)}')
    return a, b


# --------------------------------------------------------------------------
# the metric
# --------------------------------------------------------------------------
class _FeatureMetric(BaseMetric):
    """Shared part of the feature metrics: sample parsing and subset roles.

    Each processed sample becomes a record (``feat``, ``label``,
    ``sample_idx``, ``subset``) via :func:`parse_feature_sample`; subclasses
    split the records into a bank/gallery role and a query role named by
    ``bank_subsets`` / ``query_subsets``.
    """

    default_prefix = ''

    def _init_roles(self, chunk_size: int, subset_key: str,
                    query_subsets: Sequence[str],
                    bank_subsets: Sequence[str],
                    default_subset: Optional[str], names: str) -> None:
        self.chunk_size = int(chunk_size)
        self.subset_key = subset_key
        overlap = set(query_subsets) & set(bank_subsets)
        if overlap:
            raise ValueError(f'subsets {overlap} are both {names}')
        self.default_subset = default_subset

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            self.results.append(
                parse_feature_sample(ds, self.subset_key,
                                     self.default_subset))


@METRICS.register_module()
class VideoRetrievalMetric(_FeatureMetric):
    """Zero-shot video retrieval R@k (percent) on backbone features.

    Each data sample passed to :meth:`process` must carry ``feat`` (C,) (set
    by the model's predict mode), ``gt_label`` and metainfo ``sample_idx``
    (add ``'sample_idx'`` and, if used, ``'subset'`` to
    ``PackActionInputs(meta_keys=...)``).

    Which samples query which (in this order of precedence):

    1. metainfo ``subset`` (key name ``subset_key``): a name in
       ``query_subsets`` (default 'query', 'test', 'val') makes the sample a
       query, one in ``gallery_subsets`` ('gallery', 'train') a gallery item.
       The standard protocol -- test videos query the train videos -- is one
       evaluation over a dataset holding both splits with ``subset`` set to
       'test' / 'train' (``sample_idx`` may restart per subset: duplicates are
       detected per ``(subset, sample_idx)``).
    2. ``default_subset``: the subset of samples without the metainfo key.
    3. If no sample has a subset at all: leave-one-out, every sample queries
       all the others.

    Duplicates (distributed padding) are dropped by ``(subset, sample_idx)``,
    so the result does not depend on the number of processes. Queries with a
    negative (unknown) label are skipped.

    Args:
        topk: the k of R@k; keys ``'R@{k}'``.
        chunk_size: queries per similarity block.
        subset_key: metainfo key holding the subset name.
        query_subsets / gallery_subsets: subset names of each role.
        default_subset: subset of samples lacking ``subset_key``.
        collect_device / collect_dir: as mmengine's ``BaseMetric``.
        prefix: key prefix; default none, so the keys are exactly ``R@1`` ...
    """

    default_prefix = ''  # keys are 'R@1', ... (no mmengine prefix warning)

    def __init__(self,
                 topk: Sequence[int] = (1, 5, 10, 20),
                 chunk_size: int = 512,
                 subset_key: str = 'subset',
                 query_subsets: Sequence[str] = DEFAULT_QUERY_SUBSETS,
                 gallery_subsets: Sequence[str] = DEFAULT_GALLERY_SUBSETS,
                 default_subset: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        self.topk = tuple(int(k) for k in ([topk] if isinstance(topk, int)
                                           else topk))
        if not self.topk or min(self.topk) < 1:
            raise ValueError(f'topk must be positive, got {topk}')
        self.query_subsets = tuple(query_subsets)
        self.gallery_subsets = tuple(gallery_subsets)
        self._init_roles(chunk_size, subset_key, self.query_subsets,
                         self.gallery_subsets, default_subset,
                         'query and gallery')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        records, dropped = collect_feature_records(results)
        if all(r['subset'] is None for r in records):
            mode = 'leave-one-out'
            queries = [r for r in records if r['label'] >= 0]
            gallery = records
            qf, ql = _stack(queries)
            gf, gl = _stack(gallery)
            pos = {id(r): i for i, r in enumerate(gallery)}
            exclude = np.array([pos[id(r)] for r in queries], np.int64)
        else:
            mode = 'query->gallery'
            queries, gallery = split_records(records, self.query_subsets,
                                             self.gallery_subsets)
            queries = [r for r in queries if r['label'] >= 0]
            qf, ql = _stack(queries)
            gf, gl = _stack(gallery)
            exclude = None
        if len(queries) == 0 or len(gallery) == 0:
            raise ValueError(f'VideoRetrievalMetric: {len(queries)} labelled '
                             f'queries and {len(gallery)} gallery items')
        metrics = retrieval_recall(qf, ql, gf, gl, self.topk,
                                   self.chunk_size, exclude)
        if exclude is None:
            chance = retrieval_chance(ql, gl, self.topk)
        else:  # leave-one-out: the query's own item is not in its gallery
            chance = {f'R@{k}': float('nan') for k in self.topk}
        no_pos = int(np.sum(~np.isin(ql, gl))) if exclude is None else None
        logger.info(
            f'VideoRetrievalMetric ({mode}): {len(queries)} queries x '
            f'{len(gallery)} gallery, embedding dim {qf.shape[1]}, '
            f'{len(np.unique(gl))} gallery classes, {dropped} duplicate '
            f'samples dropped' +
            ('' if no_pos is None else
             f', {no_pos} queries without a same-label gallery item') +
            '; ' + ', '.join(f'{k}={v:.2f} (chance {chance[k]:.2f})'
                             for k, v in metrics.items()))
        return metrics
