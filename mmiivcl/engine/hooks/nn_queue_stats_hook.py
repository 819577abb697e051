"""Training-time statistics of the nearest-neighbour queue (IIVCL Eq.3).

Every ``interval`` iterations :class:`NNQueueStatsHook` logs, through
``runner.message_hub`` (so they appear in the normal mmengine log line and in
every visualizer backend, e.g. TensorBoard):

* ``nnq_fill``: fraction of queue rows that hold a real key;
* ``nnq_sim_mean`` / ``nnq_sim_std``: mean and spread of the similarity
  ``k . NN(k, Q)`` of the nearest neighbours picked in this step;
* ``nnq_same_video``: fraction of the picked neighbours that are an older key
  of the query's *own* video (0 by construction with
  ``exclude_same_video=True``; near 1 means IIVCL degenerates to rho-MoCo,
  docs/design.md#small-data-sets-and-the-demo);
* ``nnq_label_agree``: when the training list has labels, how often the
  neighbour's video has the query's class -- the monitor of inter-video
  similarity being learned (chance = sum_c p_c^2 for class frequencies p_c);
* ``nnq_<field>_agree`` and ``nnq_label_<field>_agree``: with
  ``meta_fields=('looks',)`` and a dataset that carries that per-video field
  (``UnlabeledVideoDataset(meta_file=..., meta_fields=...)``, e.g. the demo
  generator's scene ``looks``), how often the neighbour shares the query's
  field, and both its class and its field (chance = the sum of squared
  frequencies of the field's values, or of the (class, value) pairs).

How it reads the step: the model computes the neighbours anyway (Eq.3,
before the enqueue); the hook talks to it through its NN-recording
interface: ``model.record_nn_picks(True)`` before a logged iteration, then
``model.pop_nn_picks()`` after it returns what :class:`~mmiivcl.models.IIVCL`
picked (video index of each neighbour, its similarity, the query's video
index; a few (rho*N,) tensors) and ``record_nn_picks(False)``. Other
iterations record nothing, and without the hook nothing is ever recorded.
The statistics are summed over ranks (one small ``all_reduce``), so they
cover the global batch.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor

from mmaction.registry import HOOKS

#: order of the entries of :func:`nn_stat_sums`
_SUM_KEYS = ('n', 'sim', 'sim2', 'same', 'n_lab', 'agree')


def nn_stat_sums(nn_video: Tensor,
                 nn_sim: Tensor,
                 found: Tensor,
                 query_video: Tensor,
                 labels: Optional[Tensor] = None) -> Tensor:
    """Sums behind the NN statistics of one step (one rank).

    Args:
        nn_video (Tensor): (M,) long, video index of each query's neighbour
            (-1 if none).
        nn_sim (Tensor): (M,) similarity of each neighbour.
        found (Tensor): (M,) bool, the query had a valid neighbour.
        query_video (Tensor): (M,) long, the query's own video index.
        labels (Tensor, optional): (V,) long label of every video index of
            the training set (-1 = unknown).

    Returns:
        Tensor: (6,) float64 ``[n, sum sim, sum sim^2, n same video,
        n labelled pairs, n label agreements]``; the labelled pairs are the
        found neighbours whose query and neighbour both have a label >= 0.
    """
    found = found.bool() & (nn_video >= 0)
    sim = nn_sim[found].double()
    out = torch.zeros(len(_SUM_KEYS), dtype=torch.float64)
    out[0] = found.sum()
    out[1] = sim.sum()
    out[2] = (sim * sim).sum()
    out[3] = (nn_video[found] == query_video[found]).sum()
    if labels is not None and found.any():
        labels = labels.to(nn_video.device)
        nv, qv = nn_video[found], query_video[found]
        ok = (nv < len(labels)) & (qv >= 0) & (qv < len(labels))
        ln = labels[nv[ok]]
        lq = labels[qv[ok]]
        lab = (ln >= 0) & (lq >= 0)
        out[4] = lab.sum()
        out[5] = (ln[lab] == lq[lab]).sum()
    return out


def nn_stats_from_sums(sums: Tensor) -> Dict[str, float]:
    """Turn (summed) :func:`nn_stat_sums` into the logged statistics.

    Returns:
        dict with ``nnq_sim_mean``, ``nnq_sim_std`` (population std),
        ``nnq_same_video`` and, when labelled pairs exist,
        ``nnq_label_agree`` (fractions in [0, 1]). Empty when no query had a
        neighbour.
    """
    s = dict(zip(_SUM_KEYS, sums.double().tolist()))
    if s['n'] <= 0:
        return {}
    mean = s['sim'] / s['n']
    var = max(s['sim2'] / s['n'] - mean * mean, 0.0)
    out = dict(nnq_sim_mean=mean, nnq_sim_std=var ** 0.5,
               nnq_same_video=s['same'] / s['n'])
    if s['n_lab'] > 0:
        out['nnq_label_agree'] = s['agree'] / s['n_lab']
    return out


def field_agree_sums(nn_video: Tensor, found: Tensor, query_video: Tensor,
                     fields: Dict[str, Tensor]) -> Tensor:
    """Agreement counts of per-video fields between queries and their NN.

    Args:
        nn_video, found, query_video: as in :func:`nn_stat_sums`.
        fields (dict): name -> (V,) long value per video index (-1 =
            unknown), in the order of the output.

    Returns:
        Tensor: (2 * len(fields),) float64, per field ``[n pairs whose query
        and neighbour both have a value, n of them with equal values]``.
    """
    out = torch.zeros(2 * len(fields), dtype=torch.float64)
    found = found.bool() & (nn_video >= 0)
    nv, qv = nn_video[found], query_video[found]
    for i, values in enumerate(fields.values()):
        values = values.to(nn_video.device)
        ok = (nv < len(values)) & (qv >= 0) & (qv < len(values))
        vn, vq = values[nv[ok]], values[qv[ok]]
        known = (vn >= 0) & (vq >= 0)
        out[2 * i] = known.sum()
        out[2 * i + 1] = (vn[known] == vq[known]).sum()
    return out


def field_agree_stats(sums: Tensor, names: Sequence[str]
                      ) -> Dict[str, float]:
    """``nnq_<name>_agree`` from (summed) :func:`field_agree_sums`
    (names without known pairs are left out)."""
    s = sums.double().tolist()
    return {f'nnq_{name}_agree': s[2 * i + 1] / s[2 * i]
            for i, name in enumerate(names) if s[2 * i] > 0}


def joint_field(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One code per (a, b) pair (-1 where either is unknown): agreement
    of the code = agreement of both."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    code = a * (int(b.max(initial=0)) + 1) + b
    return np.where((a >= 0) & (b >= 0), code, -1)


def dataset_video_labels(dataset, key: str = 'label') -> Optional[np.ndarray]:
    """Label (or another int field ``key``) of every video index
    (``sample_idx``) of a training dataset.

    Reads ``get_data_info(i)[key]`` (mmengine ``BaseDataset``; wrappers
    exposing ``.dataset`` whose ``sample_idx`` is the inner index, such as
    ``RepeatDataset``, are unwrapped). Returns ``None`` when the dataset has
    no usable labels (all -1, multi-label, or an unsupported wrapper).
    """
    seen = 0
    while not hasattr(dataset, 'get_data_info') and hasattr(dataset,
                                                             'dataset'):
        dataset = dataset.dataset
        seen += 1
        if seen > 8:
            return None
    if not hasattr(dataset, 'get_data_info') or hasattr(dataset, 'datasets'):
        return None  # e.g. ConcatDataset: sample_idx is ambiguous
    labels = np.full(len(dataset), -1, dtype=np.int64)
    for i in range(len(dataset)):
        lab = dataset.get_data_info(i).get(key, -1)
        if isinstance(lab, (int, np.integer)):
            labels[i] = int(lab)
        elif torch.is_tensor(lab) and lab.numel() == 1:
            labels[i] = int(lab)
        elif isinstance(lab, np.ndarray) and lab.size == 1:
            labels[i] = int(lab.reshape(-1)[0])
    if not (labels >= 0).any():
        return None
    return labels


@HOOKS.register_module()
class NNQueueStatsHook(Hook):
    """Log NN-queue statistics every ``interval`` training iterations.

    Args:
        interval (int): iterations between two measurements; use the
            ``LoggerHook`` interval so every log line shows fresh values
            (they are logged with mmengine's default "current" statistic:
            avoid ``log_processor.mean_pattern`` patterns matching ``nnq_``).
        queue (str): attribute of the model holding the NN queue
            (``'queue_nn'``); its fill is logged in any case.
        use_labels (bool): compute ``nnq_label_agree`` when the training
            dataset has labels.
        meta_fields (Sequence[str]): per-video int fields of the training
            dataset's data infos (e.g. ``('looks',)`` with
            ``UnlabeledVideoDataset(meta_file=..., meta_fields=('looks',))``)
            for ``nnq_<field>_agree`` and, with labels,
            ``nnq_label_<field>_agree``.

    Logged keys (``train/`` scope of the message hub): ``nnq_fill``,
    ``nnq_sim_mean``, ``nnq_sim_std``, ``nnq_same_video`` and, with labels,
    ``nnq_label_agree``. See the module docstring.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) in the same step

    def __init__(self, interval: int = 50, queue: str = 'queue_nn',
                 use_labels: bool = True,
                 meta_fields: Sequence[str] = ()) -> None:
        if interval < 1:
            raise ValueError(f'NNQueueStatsHook: interval must be >= 1, '
                             f'got {interval}')
        self.interval = int(interval)
        self.queue = queue
        self.use_labels = use_labels
        self.meta_fields = tuple(meta_fields)
        self._labels: Optional[Tensor] = None
        self._labels_read = False
        self._fields: Optional[Dict[str, Tensor]] = None
        self._can_record = False

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        self._can_record = hasattr(model, 'pop_nn_picks') and hasattr(
            model, self.queue)
        if not hasattr(model, self.queue):
            print_log(
                f'NNQueueStatsHook: the model ({type(model).__name__}) has '
                f'no {self.queue!r}; no NN statistics will be logged (is '
                'lambda_nn = 0?)', logger='current', level=30)
        elif not hasattr(model, 'pop_nn_picks'):
            print_log(
                f'NNQueueStatsHook: {type(model).__name__} cannot record its '
                'NN choices (no record_nn_picks / pop_nn_picks); only the '
                'queue fill is logged', logger='current', level=30)

    def _video_labels(self, runner) -> Optional[Tensor]:
        if not self._labels_read:
            self._labels_read = True
            labels = None
            if self.use_labels:
                try:
                    labels = dataset_video_labels(
                        runner.train_dataloader.dataset)
                except Exception as exc:  # noqa: BLE001 - diagnostics only
                    print_log(f'NNQueueStatsHook: cannot read the training '
                              f'labels ({exc}); no label agreement',
                              logger='current', level=30)
            if labels is not None:
                self._labels = torch.from_numpy(labels)
                print_log(
                    f'NNQueueStatsHook: {int((labels >= 0).sum())} labelled '
                    f'training videos, {len(set(labels[labels >= 0]))} '
                    'classes; chance NN label agreement = '
                    f'{chance_label_agreement(labels):.3f}',
                    logger='current')
        return self._labels

    def _video_fields(self, runner) -> Dict[str, Tensor]:
        """``meta_fields`` and their joints with the label, read once."""
        if self._fields is None:
            self._fields = {}
            labels = self._video_labels(runner)
            for key in self.meta_fields:
                try:
                    values = dataset_video_labels(
                        runner.train_dataloader.dataset, key)
                except Exception as exc:  # noqa: BLE001 - diagnostics only
                    values = None
                    print_log(f'NNQueueStatsHook: cannot read {key!r} ({exc})',
                              logger='current', level=30)
                if values is None:
                    print_log(
                        f'NNQueueStatsHook: no training video has {key!r} '
                        '(set the dataset\'s meta_file / meta_fields); no '
                        f'{key} agreement', logger='current', level=30)
                    continue
                self._fields[key] = torch.from_numpy(values)
                msg = f'chance NN {key} agreement = ' \
                    f'{chance_label_agreement(values):.3f}'
                if labels is not None:
                    both = joint_field(labels.numpy(), values)
                    self._fields[f'label_{key}'] = torch.from_numpy(both)
                    msg += (f', of class and {key} = '
                            f'{chance_label_agreement(both):.3f}')
                print_log(f'NNQueueStatsHook: {msg}', logger='current')
        return self._fields

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._can_record and self.every_n_train_iters(runner,
                                                         self.interval):
            self._model(runner).record_nn_picks(True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = self._model(runner)
        stats = self.compute(model, self._video_labels(runner),
                             self._video_fields(runner))
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/{key}', value)

    def compute(self, model, labels: Optional[Tensor] = None,
                fields: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, float]:
        """Statistics of the step the model just recorded (and reset the
        recording). Collective: every rank must call it together."""
        out: Dict[str, float] = {}
        queue = getattr(model, self.queue, None)
        if queue is not None:
            out['nnq_fill'] = float((queue.indices >= 0).float().mean())
        if not self._can_record:
            return out
        rec = model.pop_nn_picks()
        model.record_nn_picks(False)
        fields = fields or {}
        if rec is None:
            sums = torch.zeros(len(_SUM_KEYS) + 2 * len(fields),
                               dtype=torch.float64)
        else:
            sums = torch.cat([
                nn_stat_sums(rec['nn_video'], rec['nn_sim'], rec['found'],
                             rec['query_video'], labels).cpu(),
                field_agree_sums(rec['nn_video'], rec['found'],
                                 rec['query_video'], fields).cpu()])
        if dist.is_distributed():
            dev = queue.indices.device if queue is not None else 'cpu'
            sums = sums.to(dev)
            dist.all_reduce(sums, op='sum')
            sums = sums.cpu()
        out.update(nn_stats_from_sums(sums[:len(_SUM_KEYS)]))
        if out.get('nnq_sim_mean') is not None:
            out.update(field_agree_stats(sums[len(_SUM_KEYS):], list(fields)))
        return out


def chance_label_agreement(labels: Sequence[int]) -> float:
    """Expected ``nnq_label_agree`` of a random neighbour: sum_c p_c^2."""
    lab = np.asarray(labels, dtype=np.int64)
    lab = lab[lab >= 0]
    if lab.size == 0:
        return float('nan')
    p = np.bincount(lab) / lab.size
    return float((p * p).sum())
