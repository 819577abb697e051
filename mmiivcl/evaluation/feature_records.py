"""Per-sample feature records shared by the feature metrics (retrieval, kNN).

mmengine's evaluator hands a metric one ``ActionDataSample`` dict per sample;
:func:`parse_feature_sample` turns it into a record (``feat``, ``label``,
``sample_idx``, ``subset``), :func:`collect_feature_records` drops the
duplicates a distributed sampler pads with, and :func:`split_records` sorts the
records into the two roles (query / gallery, val / bank) by subset name.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric


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


def stack_records(records: Sequence[dict]
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Records -> ``(feats (N, C) float32, labels (N,) int64)``."""
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


class FeatureMetricBase(BaseMetric):
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
