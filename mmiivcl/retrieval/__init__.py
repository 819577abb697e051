"""Zero-shot video retrieval in one place (IIVCL paper, Sec. 4.8, Table 7).

- :mod:`.functional`: the maths on feature arrays (cosine ranking with a fixed
  tie rule, R@k, chance, mean ± std over seeds, the Markdown table);
- :mod:`.metric`: :class:`VideoRetrievalMetric`, registered in mmaction2's
  ``METRICS`` for ``test_evaluator``/``val_evaluator``;
- :mod:`.pipeline`: from a config and a checkpoint to R@k (features of the
  query and gallery lists through the test pipeline), used by
  ``tools/retrieval.py`` (the CLI) and the demo.
"""
from .functional import (cosine_topk, first_positive_rank,
                         format_retrieval_table, l2_normalize,
                         recall_mean_std, retrieval_chance, retrieval_recall)
from .metric import VideoRetrievalMetric
from .pipeline import (evaluate_retrieval, lists_from_config,
                       retrieval_from_features)

__all__ = [
    'cosine_topk', 'first_positive_rank', 'format_retrieval_table',
    'l2_normalize', 'recall_mean_std', 'retrieval_chance', 'retrieval_recall',
    'VideoRetrievalMetric', 'evaluate_retrieval', 'lists_from_config',
    'retrieval_from_features'
]
