"""Weighted k-nearest-neighbour classifier on frozen features (kNN monitor).

The monitor of Wu et al. (2018, "Unsupervised feature learning via
non-parametric instance discrimination", Sec. 3.4), used by most contrastive
methods to watch a pretraining run: every evaluation feature ``q`` looks up its
k most cosine-similar *train* (bank) features ``x_i``; each neighbour votes for
its label with weight ``exp(cos(q, x_i) / T)``; the predicted class ranking is
by summed weight (ties: lower class index first). Reported as top-1 / top-5
accuracy in percent, keys ``knn_top1``, ``knn_top5``.

Getting train features into an mmengine evaluation: the metric sees one
dataloader, so the validation dataset must yield *both* the bank (train)
samples and the evaluated (val) samples, each with metainfo ``subset``
('train' or 'val'; the names are configurable) and ``sample_idx``, e.g. a
dataset wrapper that concatenates a labelled train list and a val list and
sets ``data_info['subset']``, with
``PackActionInputs(meta_keys=('sample_idx', 'subset'))``. Duplicates are
detected per ``(subset, sample_idx)``. Without any ``subset`` the metric runs
leave-one-out: every labelled sample is classified by all the others.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmaction.registry import METRICS
from ..retrieval.functional import ArrayLike, cosine_topk
from .feature_records import (FeatureMetricBase, collect_feature_records,
                              split_records, stack_records)

DEFAULT_TRAIN_SUBSETS = ('train', 'gallery')
DEFAULT_VAL_SUBSETS = ('val', 'test', 'query')


def knn_class_scores(train_feats: ArrayLike,
                     train_labels: ArrayLike,
                     test_feats: ArrayLike,
                     k: int = 20,
                     temperature: float = 0.07,
                     num_classes: Optional[int] = None,
                     chunk_size: int = 512,
                     exclude: Optional[ArrayLike] = None) -> np.ndarray:
    """Weighted kNN class scores.

    score[q, c] = sum over the k nearest train items i of q (cosine, ties by
    lower index) with label c of exp(cos(q, x_i) / T).

    Args:
        train_feats: (Nt, C) bank features.
        train_labels: (Nt,) labels in [0, num_classes).
        test_feats: (Nq, C) features to classify.
        k: neighbours.
        temperature: T of the vote weights.
        num_classes: number of classes (default: max label + 1).
        chunk_size: queries per similarity block.
        exclude: optional (Nq,) train index each query ignores (-1 = none).

    Returns:
        (Nq, num_classes) float64 scores.
    """
    tl = np.asarray(train_labels, dtype=np.int64).reshape(-1)
    if len(tl) and tl.min() < 0:
        raise ValueError('train labels must be >= 0')
    if num_classes is None:
        num_classes = int(tl.max()) + 1 if len(tl) else 0
    if len(tl) and tl.max() >= num_classes:
        raise ValueError(f'label {tl.max()} >= num_classes {num_classes}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    idx, sims = cosine_topk(test_feats, train_feats, k, chunk_size, exclude)
    weights = np.exp(sims / temperature)  # (Nq, k)
    scores = np.zeros((len(idx), num_classes), np.float64)
    rows = np.repeat(np.arange(len(idx)), idx.shape[1])
    np.add.at(scores, (rows, tl[idx].reshape(-1)), weights.reshape(-1))
    return scores


def topk_accuracy(scores: ArrayLike, labels: ArrayLike,
                  topk: Sequence[int] = (1, 5)) -> Dict[int, float]:
    """Percentage of rows whose label is among the k best classes, classes
    ranked by (−score, class index)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(y) == 0:
        return {k: 0.0 for k in topk}
    true = s[np.arange(len(y)), y]
    cls = np.arange(s.shape[1])
    # rank of the true class = classes strictly better + equal with lower id
    rank = (s > true[:, None]).sum(1) + ((s == true[:, None]) &
                                         (cls[None] < y[:, None])).sum(1)
    return {k: float(100.0 * np.mean(rank < k)) for k in topk}


def knn_accuracy(train_feats: ArrayLike,
                 train_labels: ArrayLike,
                 test_feats: ArrayLike,
                 test_labels: ArrayLike,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, 5),
                 num_classes: Optional[int] = None,
                 chunk_size: int = 512,
                 exclude: Optional[ArrayLike] = None) -> Dict[str, float]:
    """Weighted-kNN accuracy in percent: ``{'top1': ..., 'top5': ...}``.

    See :func:`knn_class_scores` for the classifier.
    """
    yl = np.asarray(test_labels, dtype=np.int64).reshape(-1)
    tl = np.asarray(train_labels, dtype=np.int64).reshape(-1)
    if num_classes is None:
        num_classes = int(max(tl.max(initial=-1), yl.max(initial=-1))) + 1
    scores = knn_class_scores(train_feats, tl, test_feats, k, temperature,
                              num_classes, chunk_size, exclude)
    acc = topk_accuracy(scores, yl, topk)
    return {f'top{kk}': v for kk, v in acc.items()}


@METRICS.register_module()
class KNNMetric(FeatureMetricBase):
    """Weighted kNN classification accuracy of frozen features (monitor).

    Data samples need ``feat`` (C,), ``gt_label`` and metainfo ``sample_idx``
    and ``subset`` (see the module docstring). Samples whose subset is in
    ``train_subsets`` form the bank, those in ``val_subsets`` are classified;
    samples lacking ``subset_key`` take ``default_subset``; if no sample has a
    subset, leave-one-out over all samples. Unlabelled samples (label < 0) are
    ignored. Duplicates (distributed padding) are dropped by
    ``(subset, sample_idx)``.

    Args:
        k: neighbours (e.g. 20 or 200).
        temperature: vote weight exp(sim / T).
        topk: accuracies reported, keys ``knn_top{k}`` (percent).
        num_classes: default ``len(dataset_meta['classes'])`` when known,
            else max label + 1.
        chunk_size: queries per similarity block.
        subset_key / train_subsets / val_subsets / default_subset: roles.
        collect_device / collect_dir / prefix: as mmengine's ``BaseMetric``
            (no prefix by default: keys are exactly ``knn_top1`` ...).
    """

    default_prefix = ''

    def __init__(self,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, 5),
                 num_classes: Optional[int] = None,
                 chunk_size: int = 512,
                 subset_key: str = 'subset',
                 train_subsets: Sequence[str] = DEFAULT_TRAIN_SUBSETS,
                 val_subsets: Sequence[str] = DEFAULT_VAL_SUBSETS,
                 default_subset: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        self.k = int(k)
        self.temperature = float(temperature)
        self.topk = tuple(int(t) for t in ([topk] if isinstance(topk, int)
                                           else topk))
        self.num_classes = num_classes
        self.train_subsets = tuple(train_subsets)
        self.val_subsets = tuple(val_subsets)
        self._init_roles(chunk_size, subset_key, self.val_subsets,
                         self.train_subsets, default_subset, 'train and val')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        records, dropped = collect_feature_records(results)
        records = [r for r in records if r['label'] >= 0]
        if all(r['subset'] is None for r in records):
            mode = 'leave-one-out'
            val = bank = records
            exclude = np.arange(len(records))
        else:
            mode = 'val->train'
            bank, val = split_records(records, self.train_subsets,
                                      self.val_subsets)
            exclude = None
        if not val or not bank:
            raise ValueError(f'KNNMetric: {len(val)} labelled val samples and '
                             f'{len(bank)} labelled train samples')
        bf, bl = stack_records(bank)
        vf, vl = stack_records(val)
        num_classes = self.num_classes
        if num_classes is None and self.dataset_meta and \
                self.dataset_meta.get('classes'):
            num_classes = len(self.dataset_meta['classes'])
        if num_classes is None:
            num_classes = int(max(bl.max(), vl.max())) + 1
        acc = knn_accuracy(bf, bl, vf, vl, self.k, self.temperature,
                           self.topk, num_classes, self.chunk_size, exclude)
        metrics = {f'knn_{key}': v for key, v in acc.items()}
        logger.info(
            f'KNNMetric ({mode}, k={self.k}, T={self.temperature}): '
            f'{len(val)} val x {len(bank)} train, embedding dim '
            f'{vf.shape[1]}, {num_classes} classes (chance top-1 '
            f'{100.0 / max(num_classes, 1):.2f}), {dropped} duplicate samples '
            'dropped; ' + ', '.join(f'{k}={v:.2f}'
                                    for k, v in metrics.items()))
        return metrics
