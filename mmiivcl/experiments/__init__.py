"""Experiment plumbing behind the small-scale tools (``tools/run_demo.py``,
``tools/compare_finetune.py``, ``tools/reproduce_table6.py``): seeded,
resumable pretraining runs identified by a hash of their config, schedule
refits, one mean / standard-deviation definition for every table, and the
Table 6 report. Imported on demand by the tools (numpy only at import)."""
from .paths import REPO_ROOT, rel
from .runs import (epoch_means, fit_schedule, find_transform, pretrain,
                   read_scalars)
from .stats import average_ranks, compare, fmt_mean_std, mean_std

__all__ = [
    'REPO_ROOT', 'rel', 'epoch_means', 'fit_schedule', 'find_transform',
    'pretrain', 'read_scalars', 'average_ranks', 'compare', 'fmt_mean_std',
    'mean_std'
]
