"""Warn when the learned embeddings collapse.

A contrastive model collapses when every video maps to (nearly) the same
embedding: the loss may still look finite and the run keeps going, wasting
days. The queues of the momentum-contrast models hold the most recent key
embeddings of many videos, L2-normalised, so their spread is a free collapse
detector that works for IIVCL and VCLR alike:

    spread = sqrt(D) * mean_d std_i(q_{i,d})

over the filled rows i of a queue of D-dimensional unit vectors. It is about
1 for vectors spread uniformly over the sphere and 0 when all rows are equal.
The hook logs it per queue (``spread_<queue>``) and warns when it falls below
``threshold``.
"""
import logging
import math
from typing import Dict

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS

from ...models.utils import FeatureQueue


def embedding_spread(feats: torch.Tensor) -> float:
    """``sqrt(D) * mean_d std_i feats[i, d]`` of (N, D) rows (N >= 2)."""
    if feats.dim() != 2 or feats.shape[0] < 2:
        raise ValueError(
            f'need (N >= 2, D) features, got {tuple(feats.shape)}')
    f = torch.nn.functional.normalize(feats.detach().float(), dim=1)
    return float(f.std(dim=0, unbiased=False).mean() * math.sqrt(f.shape[1]))


def queue_spreads(model, min_rows: int = 16) -> Dict[str, float]:
    """Spread of the filled rows of every :class:`FeatureQueue` of ``model``
    (queues with fewer than ``min_rows`` filled rows are left out)."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, FeatureQueue):
            filled = m.filled
            if int(filled.sum()) >= max(min_rows, 2):
                out[name] = embedding_spread(m.feats[filled])
    return out


@HOOKS.register_module()
class EmbeddingCollapseHook(Hook):
    """Log the spread of the queued embeddings; warn below ``threshold``.

    Args:
        interval (int): iterations between checks. Defaults to 50.
        threshold (float): warn when a queue's spread is below this (1 =
            uniform on the sphere, 0 = collapsed). Defaults to 0.1.
        min_rows (int): filled rows needed before a queue is checked.
            Defaults to 64.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50, threshold: float = 0.1,
                 min_rows: int = 64) -> None:
        if not threshold > 0:
            raise ValueError(f'EmbeddingCollapseHook.threshold={threshold} '
                             'must be > 0 (spread is in (0, ~1]).')
        self.interval = interval
        self.threshold = threshold
        self.min_rows = min_rows
        self.collapsed: Dict[str, bool] = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for name, spread in queue_spreads(model, self.min_rows).items():
            runner.message_hub.update_scalar(f'train/spread_{name}', spread)
            low = spread < self.threshold
            if low and not self.collapsed.get(name, False):
                print_log(
                    f'EmbeddingCollapseHook: the embeddings in model.{name} '
                    f'have spread {spread:.4f} at iteration '
                    f'{runner.iter + 1}, '
                    f'below threshold {self.threshold} (1 = spread over the '
                    'sphere, 0 = all identical): the representation is '
                    'collapsing. Usual causes: learning rate too high, '
                    'momentum too low (MomentumUpdateHook.base_momentum), '
                    'temperature too high, or too little augmentation.',
                    logger='current', level=logging.WARNING)
            elif not low and self.collapsed.get(name, False):
                print_log(f'EmbeddingCollapseHook: model.{name} spread '
                          f'recovered to {spread:.4f}', logger='current')
            self.collapsed[name] = low
