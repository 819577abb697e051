"""``VideoRetrievalMetric``: zero-shot retrieval R@k as an mmengine metric.

The maths (cosine ranking, ties, chance) is :mod:`.functional`; this module
turns the evaluator's samples into query and gallery sets.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmaction.registry import METRICS
from ..evaluation.feature_records import (FeatureMetricBase,
                                          collect_feature_records,
                                          split_records, stack_records)
from .functional import retrieval_chance, retrieval_recall

#: Subset names that make a sample a query / a gallery item (metainfo key
#: ``subset``); a test split queries a train split in the standard protocol.
DEFAULT_QUERY_SUBSETS = ('query', 'test', 'val')
DEFAULT_GALLERY_SUBSETS = ('gallery', 'train')


@METRICS.register_module()
class VideoRetrievalMetric(FeatureMetricBase):
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
            qf, ql = stack_records(queries)
            gf, gl = stack_records(gallery)
            pos = {id(r): i for i, r in enumerate(gallery)}
            exclude = np.array([pos[id(r)] for r in queries], np.int64)
        else:
            mode = 'query->gallery'
            queries, gallery = split_records(records, self.query_subsets,
                                             self.gallery_subsets)
            queries = [r for r in queries if r['label'] >= 0]
            qf, ql = stack_records(queries)
            gf, gl = stack_records(gallery)
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
