"""Eq.3 applied to *any* key queue, as a measurement (not a training signal).

:class:`NNQueueStatsHook` reports the neighbours the NN branch actually
picked, so it has nothing to say about rho-MoCo (lambda_NN = 0: no NN queue,
no lookup). To put the three Table-6 settings on one curve, this hook asks the
same question of another queue, e.g. the intra queue Q_intra: *had the model
looked up the nearest neighbour of this step's keys in this queue, how often
would the neighbour's video share the query's class?*

The lookup is the model's own (Eq.3, :func:`~mmiivcl.models.losses.
nearest_neighbour`) on the same inputs the NN branch would use:

* queries: the momentum keys this step wrote into the queue (the rows between
  the write pointer before and after the step);
* bank: the queue as it was *before* the step (a copy taken in
  ``before_train_iter``, the model's "look up before enqueue");
* mask: only rows that were written, and, when the model has
  ``exclude_same_video=True``, no row of the query's own video.

Applied to ``queue_nn`` it reproduces :class:`NNQueueStatsHook` exactly
(tested); applied to ``queue_intra`` it measures the embedding g^Intra(f^k(.))
that rho-MoCo learns. The statistics are the NN-queue hook's
(:func:`~.nn_queue_stats_hook.nn_stat_sums`), logged under
``train/<prefix>_label_agree``, ``<prefix>_same_video``,
``<prefix>_sim_mean``, ``<prefix>_sim_std``. Queues are identical on every
rank (gathered before enqueue), so every rank computes the same numbers and
no communication is needed.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor

from mmaction.registry import HOOKS

from ...models.losses import nearest_neighbour
from .nn_queue_stats_hook import (NNQueueStatsHook, field_agree_stats,
                                  field_agree_sums, nn_stat_sums,
                                  nn_stats_from_sums)


@HOOKS.register_module()
class QueueNNProbeHook(NNQueueStatsHook):
    """Log what Eq.3 would pick in ``queue`` every ``interval`` iterations.

    Args:
        queue (str): model attribute holding a
            :class:`~mmiivcl.models.utils.FeatureQueue` (``'queue_intra'``).
        prefix (str): key prefix of the logged scalars (``'iq'`` ->
            ``train/iq_label_agree``); must differ from ``'nnq'``.
        interval (int): iterations between two measurements.
        use_labels (bool): compute ``<prefix>_label_agree`` when the training
            dataset has labels.
        meta_fields (Sequence[str]): per-video fields for
            ``<prefix>_<field>_agree`` and ``<prefix>_label_<field>_agree``
            (see :class:`NNQueueStatsHook`).
    """

    def __init__(self, queue: str = 'queue_intra', prefix: str = 'iq',
                 interval: int = 50, use_labels: bool = True,
                 meta_fields: Sequence[str] = ()) -> None:
        super().__init__(interval=interval, queue=queue,
                         use_labels=use_labels, meta_fields=meta_fields)
        if not prefix or prefix == 'nnq':
            raise ValueError(f'QueueNNProbeHook: prefix must be a non-empty '
                             f'key prefix other than "nnq", got {prefix!r}')
        self.prefix = prefix
        self._snapshot: Optional[Dict[str, Tensor]] = None

    def before_train(self, runner) -> None:
        model = self._model(runner)
        self._can_record = hasattr(model, self.queue)
        if not self._can_record:
            print_log(
                f'QueueNNProbeHook: the model ({type(model).__name__}) has no '
                f'{self.queue!r} (is its lambda 0?); nothing will be logged',
                logger='current', level=30)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._snapshot = None
        if self._can_record and self.every_n_train_iters(runner,
                                                         self.interval):
            q = getattr(self._model(runner), self.queue)
            self._snapshot = dict(feats=q.feats.detach().clone(),
                                  indices=q.indices.detach().clone(),
                                  ptr=int(q.ptr))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        snap, self._snapshot = self._snapshot, None
        if snap is None:
            return
        model = self._model(runner)
        stats = self.probe(getattr(model, self.queue), snap,
                           bool(getattr(model, 'exclude_same_video', False)),
                           self._video_labels(runner),
                           self._video_fields(runner))
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/{self.prefix}_{key}',
                                             value)

    @staticmethod
    @torch.no_grad()
    def probe(queue, snapshot: Dict[str, Tensor], exclude_same_video: bool,
              labels: Optional[Tensor] = None,
              fields: Optional[Dict[str, Tensor]] = None
              ) -> Dict[str, float]:
        """Statistics of the Eq.3 lookup of the newly written keys.

        Args:
            queue: the queue after the step (``feats`` (K, D), ``indices``
                (K,), ``ptr`` (1,)).
            snapshot: ``feats``, ``indices`` and ``ptr`` before the step.
            exclude_same_video: mask rows of the query's own video.
            labels: (V,) label per video index, or None.
            fields: name -> (V,) per-video values (``<name>_agree``).

        Returns:
            dict with ``label_agree`` (if labelled), ``same_video``,
            ``sim_mean``, ``sim_std``; empty when nothing was written or no
            key had a valid neighbour.
        """
        k = queue.feats.shape[0]
        n = (int(queue.ptr) - snapshot['ptr']) % k
        if n == 0:  # a full cycle, or no write at all
            if torch.equal(queue.indices, snapshot['indices']) and \
                    torch.equal(queue.feats, snapshot['feats']):
                return {}
            n = k
        rows = (torch.arange(n, device=queue.feats.device) +
                snapshot['ptr']) % k
        keys, vid = queue.feats[rows], queue.indices[rows]
        bank, bank_vid = snapshot['feats'], snapshot['indices']
        mask = (bank_vid >= 0).unsqueeze(0).expand(n, -1)
        if exclude_same_video:
            mask = mask & (bank_vid.unsqueeze(0) != vid.view(-1, 1))
        idx, sim, found = nearest_neighbour(keys, bank, mask)
        nn_video = torch.where(found, bank_vid[idx], torch.full_like(idx, -1))
        stats = nn_stats_from_sums(
            nn_stat_sums(nn_video, sim, found, vid, labels).cpu())
        if stats and fields:
            stats.update(field_agree_stats(
                field_agree_sums(nn_video, found, vid, fields).cpu(),
                list(fields)))
        return {key[len('nnq_'):]: v for key, v in stats.items()}
