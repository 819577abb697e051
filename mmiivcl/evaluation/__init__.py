"""Evaluation: retrieval R@k and the weighted-kNN monitor (registered in
mmaction2's METRICS)."""
from .knn_metric import KNNMetric, knn_accuracy, knn_class_scores
from .retrieval_metric import (VideoRetrievalMetric, cosine_topk,
                               first_positive_rank, retrieval_chance,
                               retrieval_recall)

__all__ = [
    'VideoRetrievalMetric', 'KNNMetric', 'retrieval_recall',
    'retrieval_chance', 'first_positive_rank', 'cosine_topk', 'knn_accuracy',
    'knn_class_scores'
]
