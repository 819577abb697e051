"""Worker seeds derived from (seed, epoch, rank, worker id) for exact resume.

mmengine's default ``worker_init_fn`` seeds each DataLoader worker with
``seed + num_workers * rank + worker_id``
(docs/design.md#exact-resume-and-worker-seeds): the epoch plays no
part, so non-persistent workers repeat the same random draws every epoch, and
persistent workers carry RNG state that no checkpoint holds, so a resumed run
augments differently from an uninterrupted one.

Here each worker's ``random``, ``numpy`` and ``torch`` generators are seeded
with :func:`derive_seed` ``(seed, epoch, rank, worker_id)`` at the start of
every epoch:

* non-persistent workers: :func:`epoch_worker_init_fn` (the DataLoader's
  ``worker_init_fn``) seeds them when they start, i.e. every epoch;
* persistent workers: the dataset calls :func:`maybe_reseed_worker` at the top
  of ``__getitem__``; the first sample of a new epoch re-seeds the worker
  (:class:`~mmiivcl.datasets.UnlabeledVideoDataset` does this; other datasets
  need non-persistent workers for exactness).

The seed, rank and current epoch reach the workers through a small
shared-memory tensor attached to the dataset (:func:`attach_seed_state`),
written in the main process by :class:`~mmiivcl.engine.hooks.EpochSeedHook`
before each epoch's iterator is created. A DataLoader assigns batches to its
workers round-robin, starting at worker 0 every epoch, so with a fixed number
of workers every sample of an epoch is drawn from the same generator state in
an uninterrupted and in a resumed run.
"""
import random
from typing import Iterator, Optional

import numpy as np
import torch
from mmengine.registry import FUNCTIONS

#: attribute under which the shared state hangs on a dataset
SEED_STATE_ATTR = '_mmiivcl_seed_state'
# fields of the shared int64 tensor
_ENABLED, _SEED, _RANK, _EPOCH = range(4)

# per-process record of what the worker was last seeded for
_WORKER = dict(epoch=None, seed=None)


def derive_seed(*keys: int) -> int:
    """A 32-bit seed from integer keys (order matters), via numpy's
    ``SeedSequence`` (well mixed: nearby keys give unrelated streams)."""
    entropy = [int(k) & 0xFFFFFFFFFFFFFFFF for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def seed_all(seed: int) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def iter_datasets(dataset) -> Iterator:
    """``dataset`` and the datasets it wraps (``.dataset``, ``.datasets``)."""
    seen, stack = set(), [dataset]
    while stack:
        ds = stack.pop()
        if ds is None or id(ds) in seen:
            continue
        seen.add(id(ds))
        yield ds
        inner = getattr(ds, 'dataset', None)
        if inner is not None and not isinstance(inner, (str, dict)):
            stack.append(inner)
        for d in getattr(ds, 'datasets', None) or []:
            if not isinstance(d, (str, dict)):
                stack.append(d)


def attach_seed_state(dataset) -> torch.Tensor:
    """Create (once) the shared state on ``dataset`` and every dataset it
    wraps; returns it. Call in the main process before workers start."""
    state = get_seed_state(dataset)
    if state is None:
        state = torch.zeros(4, dtype=torch.int64).share_memory_()
    for ds in iter_datasets(dataset):
        try:
            setattr(ds, SEED_STATE_ATTR, state)
        except AttributeError:  # e.g. a class with __slots__
            pass
    return state


def get_seed_state(dataset) -> Optional[torch.Tensor]:
    return getattr(dataset, SEED_STATE_ATTR, None)


def publish_seed_state(dataset, seed: int, rank: int, epoch: int) -> None:
    """Main process: tell the workers which (seed, rank, epoch) is current."""
    state = attach_seed_state(dataset)
    state[_SEED] = int(seed)
    state[_RANK] = int(rank)
    state[_EPOCH] = int(epoch)
    state[_ENABLED] = 1


def worker_seed(state: torch.Tensor, worker_id: int) -> int:
    return derive_seed(int(state[_SEED]), int(state[_EPOCH]),
                       int(state[_RANK]), int(worker_id))


def _seed_worker(state: torch.Tensor, worker_id: int) -> None:
    seed_all(worker_seed(state, worker_id))
    _WORKER['epoch'] = int(state[_EPOCH])
    _WORKER['seed'] = int(state[_SEED])


@FUNCTIONS.register_module()
def epoch_worker_init_fn(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed from (seed, epoch, rank, worker).

    Config:
    ``train_dataloader.worker_init_fn=dict(type='epoch_worker_init_fn')``
    together with :class:`~mmiivcl.engine.hooks.EpochSeedHook` (which
    publishes the seed and epoch). Without the hook's state the worker falls
    back to torch's own per-worker seed for all three generators.
    """
    info = torch.utils.data.get_worker_info()
    state = None if info is None else get_seed_state(info.dataset)
    if state is None or int(state[_ENABLED]) == 0:
        seed_all(0 if info is None else int(info.seed) % 2**32)
        _WORKER['epoch'] = None
        return
    _seed_worker(state, worker_id)


def maybe_reseed_worker(dataset) -> bool:
    """Re-seed a *persistent* worker when a new epoch has started.

    Call at the top of ``__getitem__``; a few microseconds. Returns True when
    it re-seeded. No-op in the main process or without a published state.
    """
    state = getattr(dataset, SEED_STATE_ATTR, None)
    if state is None or int(state[_ENABLED]) == 0:
        return False
    info = torch.utils.data.get_worker_info()
    if info is None:
        return False
    if _WORKER['epoch'] == int(state[_EPOCH]) and \
            _WORKER['seed'] == int(state[_SEED]):
        return False
    _seed_worker(state, info.id)
    return True
