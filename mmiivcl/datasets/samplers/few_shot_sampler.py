"""Few-shot training: a class-balanced fraction of a labelled training set.

IIVCL paper, Sec. 4.7 / Table 4 finetunes on 1 / 5 / 20 % of UCF101 and trains
a
linear classifier on 1 / 10 % of Kinetics-400, evaluating on the full test
set. :class:`FewShotSampler` draws that subset inside the data loader, so the
list files stay the standard ones:

* per class ``c`` with ``n_c`` videos it keeps ``k_c = max(1, round(ratio *
  n_c))`` videos (round half up; a class is never dropped),
  docs/design.md#downstream-protocols;
* the subset depends only on ``subset_seed`` and the set of (filename, label)
  pairs -- not on the list order, the training seed, the rank or the number
  of processes -- so every rank holds the same subset;
* UCF101-style names ``v_<Class>_g<GG>_c<CC>`` are group aware: the picks of
  a class are spread over as many groups (source videos) as possible before a
  second clip of a group is taken;
* iteration is mmengine's ``DefaultSampler`` over the subset: a per-epoch
  permutation (``seed + epoch``, :meth:`set_epoch`), padded to a multiple of
  the world size when ``round_up``, rank ``r`` taking positions
  ``r, r + W, ...``: the ranks' shares are disjoint (up to that padding);
* the subset is written as a list file (``filename label`` per line, usable
  as an mmaction2 ``ann_file``) to ``save_dir`` or, by default, to the work
  dir of the running mmengine Runner.
"""
import math
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence, Sized, Tuple

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import MMLogger, print_log
from torch.utils.data import Sampler

from mmaction.registry import DATA_SAMPLERS

#: UCF101 clip names: v_<Class>_g<group>_c<clip>
UCF_NAME = re.compile(r'^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$')


def per_class_count(ratio: float, n: int) -> int:
    """``max(1, round(ratio * n))`` with round half up, at most ``n``."""
    return min(n, max(1, int(math.floor(ratio * n + 0.5))))


def _group_of(filename: str) -> Optional[str]:
    stem = osp.splitext(osp.basename(filename))[0]
    m = UCF_NAME.match(stem)
    return m.group('group') if m else None


def _class_order(names: List[str], rng: np.random.Generator,
                 group_aware: bool) -> List[int]:
    """A random order of ``range(len(names))``; group aware: round-robin over
    the groups (groups and clips within a group in random order)."""
    n = len(names)
    groups = [_group_of(x) for x in names] if group_aware else [None] * n
    if not group_aware or any(g is None for g in groups):
        return [int(i) for i in rng.permutation(n)]
    by_group: Dict[str, List[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    keys = sorted(by_group)
    keys = [keys[i] for i in rng.permutation(len(keys))]
    queues = [[by_group[g][j] for j in rng.permutation(len(by_group[g]))]
              for g in keys]
    order: List[int] = []
    depth = 0
    while len(order) < n:
        for q in queues:
            if depth < len(q):
                order.append(q[depth])
        depth += 1
    return order


def few_shot_subset(filenames: Sequence[str],
                    labels: Sequence[int],
                    ratio: float,
                    subset_seed: int = 0,
                    group_aware: bool = True) -> List[int]:
    """Indices (sorted) of the class-balanced subset.

    Args:
        filenames: one per sample (used for a list-order independent draw and
            for UCF101 groups).
        labels: integer class of each sample.
        ratio: fraction in (0, 1].
        subset_seed: the subset's seed (independent of the training seed).
        group_aware: spread picks over UCF101 groups when names allow it.
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f'FewShotSampler: ratio must be in (0, 1], got '
                         f'{ratio}')
    if len(filenames) != len(labels):
        raise ValueError('filenames and labels differ in length')
    by_class: Dict[int, List[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(int(lab), []).append(i)
    chosen: List[int] = []
    for lab in sorted(by_class):
        # canonical order: by filename (then index), not by list position
        idx = sorted(by_class[lab], key=lambda i: (str(filenames[i]), i))
        k = per_class_count(ratio, len(idx))
        # one stream per (seed, class): a class's draw ignores other classes
        rng = np.random.default_rng([int(subset_seed), lab + 1])
        order = _class_order([str(filenames[i]) for i in idx], rng,
                             group_aware)
        chosen.extend(idx[j] for j in order[:k])
    return sorted(chosen)


def _labels_and_names(dataset) -> Tuple[List[str], List[int]]:
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError(
            f'FewShotSampler needs a dataset with get_data_info(i) (mmengine '
            f'BaseDataset), got {type(dataset).__name__}')
    names, labels = [], []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        lab = info.get('label', None)
        if isinstance(lab, (list, tuple, np.ndarray)):
            if len(lab) != 1:
                raise ValueError('FewShotSampler needs single-label samples; '
                                 f'sample {i} has label {lab!r}')
            lab = lab[0]
        if lab is None or int(lab) < 0:
            raise ValueError(f'FewShotSampler: sample {i} has no label '
                             f'({info.get("filename", "")!r})')
        labels.append(int(lab))
        names.append(str(info.get('filename', info.get('frame_dir', i))))
    return names, labels


def _runner_work_dir() -> Optional[str]:
    """The work dir of the running mmengine Runner (parent of its log dir),
    found through the current logger's log file; None without a Runner."""
    log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
    if not log_file:
        return None
    return osp.dirname(osp.dirname(osp.abspath(log_file)))


@DATA_SAMPLERS.register_module()
class FewShotSampler(Sampler):
    """Distributed sampler over a class-balanced fraction of the dataset.

    Args:
        dataset (Sized): a labelled mmengine dataset (``get_data_info(i)``
            with ``label`` and ``filename``), e.g. mmaction2's VideoDataset.
        ratio (float): fraction of each class kept, in (0, 1].
        subset_seed (int): seed of the subset draw (same subset for every
            training seed). Defaults to 0.
        shuffle (bool): a new order each epoch. Defaults to True.
        seed (int, optional): order seed (mmengine passes the run's seed;
            None: a random seed shared by all ranks).
        round_up (bool): pad to a multiple of the world size (as
            ``DefaultSampler``). Defaults to True.
        group_aware (bool): spread UCF101 picks over groups. Defaults to True.
        save_dir (str, optional): where to write the subset list; default:
            the Runner's work dir (nothing is written without one).
        rank, world_size (int, optional): override ``get_dist_info()``
            (tests, or custom launchers).
    """

    def __init__(self,
                 dataset: Sized,
                 ratio: float,
                 subset_seed: int = 0,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 group_aware: bool = True,
                 save_dir: Optional[str] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None) -> None:
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world if world_size is None else int(
            world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'rank {self.rank} outside world size '
                             f'{self.world_size}')
        self.dataset = dataset
        self.ratio = float(ratio)
        self.subset_seed = int(subset_seed)
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.epoch = 0
        names, labels = _labels_and_names(dataset)
        self.subset: List[int] = few_shot_subset(
            names, labels, self.ratio, self.subset_seed, group_aware)
        self.subset_files = [names[i] for i in self.subset]
        self.subset_labels = [labels[i] for i in self.subset]
        self.class_counts: Dict[int, int] = {}
        for lab in self.subset_labels:
            self.class_counts[lab] = self.class_counts.get(lab, 0) + 1
        n = len(self.subset)
        if round_up:
            self.num_samples = math.ceil(n / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((n - self.rank) / self.world_size)
            self.total_size = n
        self.subset_file = self._save(save_dir, len(labels),
                                      len(set(labels)))

    def _save(self, save_dir: Optional[str], n_total: int,
              n_classes: int) -> Optional[str]:
        out_dir = save_dir if save_dir is not None else _runner_work_dir()
        path = None
        if out_dir is not None:
            path = osp.join(
                out_dir, f'few_shot_subset_ratio{self.ratio:g}_'
                f'seed{self.subset_seed}.txt')
            if self.rank == 0:
                os.makedirs(out_dir, exist_ok=True)
                with open(path, 'w') as f:
                    for name, lab in zip(self.subset_files,
                                         self.subset_labels):
                        f.write(f'{name} {lab}\n')
        counts = sorted(self.class_counts.values())
        print_log(
            f'FewShotSampler: ratio {self.ratio:g} -> {len(self.subset)} of '
            f'{n_total} videos, {len(self.class_counts)}/{n_classes} classes '
            f'({counts[0]}..{counts[-1]} per class), subset_seed '
            f'{self.subset_seed}; subset list: {path or "not saved"}',
            logger='current')
        return path

    def __iter__(self) -> Iterator[int]:
        n = len(self.subset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=g).tolist()
        else:
            order = list(range(n))
        positions = order
        if self.round_up and n:
            positions = (order * (self.total_size // n + 1))[:self.total_size]
        mine = positions[self.rank:self.total_size:self.world_size]
        return iter([self.subset[p] for p in mine])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Per-epoch reshuffle (called by mmengine's DistSamplerSeedHook)."""
        self.epoch = epoch
