"""Inspection tools: feature extraction for test-only runs, zero-shot
retrieval, t-SNE pictures and the NN-queue grid. Imported on demand
by ``tools/retrieval.py``, ``tools/visualize_tsne.py`` and the NN hooks; not
needed for training."""
from .features import (build_feature_model, build_list_dataset,
                       extract_features, read_class_names, resolve_pipeline)
from .nn_grid import draw_nn_grid, queue_topk_videos, read_middle_frame
from .retrieval import (evaluate_retrieval, format_retrieval_table,
                        recall_mean_std, retrieval_from_features)

__all__ = [
    'build_feature_model', 'build_list_dataset', 'extract_features',
    'read_class_names', 'resolve_pipeline', 'draw_nn_grid',
    'queue_topk_videos', 'read_middle_frame', 'evaluate_retrieval',
    'format_retrieval_table', 'recall_mean_std', 'retrieval_from_features'
]
