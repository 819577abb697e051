"""Inspection tools: feature extraction for test-only runs (used by
:mod:`mmiivcl.retrieval`), t-SNE pictures, the NN-queue grid, the linear probe
and the reference features of the Table 6 study. Imported on demand by the
tools and the NN hooks; not needed for training."""
from .features import (build_feature_model, build_list_dataset,
                       extract_features, read_class_names, resolve_pipeline)
from .nn_grid import draw_nn_grid, queue_topk_videos, read_middle_frame

__all__ = [
    'build_feature_model', 'build_list_dataset', 'extract_features',
    'read_class_names', 'resolve_pipeline', 'draw_nn_grid',
    'queue_topk_videos', 'read_middle_frame'
]
