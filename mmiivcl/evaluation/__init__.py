"""Evaluation: the weighted-kNN monitor (registered in mmaction2's METRICS)
and the per-sample feature records it shares with the retrieval metric
(:mod:`mmiivcl.retrieval`)."""
from .feature_records import (FeatureMetricBase, collect_feature_records,
                              parse_feature_sample, split_records,
                              stack_records)
from .knn_metric import KNNMetric, knn_accuracy, knn_class_scores

__all__ = [
    'KNNMetric', 'knn_accuracy', 'knn_class_scores', 'FeatureMetricBase',
    'collect_feature_records', 'parse_feature_sample', 'split_records',
    'stack_records'
]
