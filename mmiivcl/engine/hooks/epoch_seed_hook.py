"""Random state that a resumed run reproduces exactly
(docs/design.md#exact-resume-and-worker-seeds).

What must match between an uninterrupted run and one resumed from the
checkpoint of epoch e, for every later iteration:

* model, queues, pointers, momentum encoder, optimizer, LR schedule: in the
  checkpoint (mmengine + the model's buffers);
* momentum schedule: a function of the iteration (``MomentumUpdateHook``);
* data order: ``DefaultSampler`` shuffles with ``seed + epoch`` (pass the same
  ``--seed``);
* augmentation draws in the DataLoader workers: seeded per epoch from
  (seed, epoch, rank, worker id), see :mod:`mmiivcl.datasets.worker_seed`;
* random draws in the main process (the shuffle-BN permutation, dropout, the
  pipeline when ``num_workers=0``): this hook re-seeds ``random``, ``numpy``
  and ``torch`` from (seed, epoch) before each epoch's iterator is created and
  from (seed, iteration) before every training step, so they no longer
  depend on what ran before (model initialisation, a checkpoint load, how
  many DataLoader iterators were created).
"""
import functools
import logging

from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from mmaction.registry import HOOKS

from ...datasets.worker_seed import (derive_seed, epoch_worker_init_fn,
                                     iter_datasets, publish_seed_state,
                                     seed_all)

# tags that keep the main-process streams apart from the worker streams
_TAG_EPOCH, _TAG_ITER = 0x6D61696E, 0x69746572


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed DataLoader workers per epoch and the main process per iteration.

    Args:
        reseed_main (bool): re-seed the main process's generators before
            every epoch and training iteration (see the module docstring).
            Defaults to True.
        install_worker_init_fn (bool): when the train DataLoader's
            ``worker_init_fn`` is mmengine's default (or none), replace it
            with :func:`~mmiivcl.datasets.worker_seed.epoch_worker_init_fn`.
            Defaults to True.

    The main-process seed includes the rank only with
    ``randomness.diff_rank_seed=True`` (as mmengine); worker seeds always
    include it, so ranks never augment alike.
    """

    priority = 'VERY_HIGH'

    def __init__(self, reseed_main: bool = True,
                 install_worker_init_fn: bool = True) -> None:
        self.reseed_main = reseed_main
        self.install_worker_init_fn = install_worker_init_fn
        self.seed = 0
        self.rank = 0
        self._main_rank = 0

    def _dataloader(self, runner):
        loop = getattr(runner, '_train_loop', None)
        if loop is None or isinstance(loop, dict):
            return None
        return getattr(loop, 'dataloader', None)

    def before_train(self, runner) -> None:
        loader = self._dataloader(runner)
        seed = runner.seed
        if seed is None:
            print_log('EpochSeedHook: the run has no seed; nothing to do',
                      logger='current', level=logging.WARNING)
            self.reseed_main = False
            return
        self.seed = int(seed) % 2**32
        self.rank = get_rank()
        diff = bool(getattr(runner, '_randomness_cfg', {}).get(
            'diff_rank_seed', False))
        self._main_rank = self.rank if diff else 0
        if loader is None:
            return
        dataset = loader.dataset
        publish_seed_state(dataset, self.seed, self.rank, runner.epoch)
        if isinstance(getattr(runner, '_train_loop', None),
                      IterBasedTrainLoop):
            # an iteration-based loop starts each new pass of the data
            # inside ``next()``, where no hook runs: only the sampler's
            # set_epoch sees it (epoch-based loops: before_train_epoch)
            self._follow_sampler_epoch(loader)
        fn = loader.worker_init_fn
        is_default = fn is None or (isinstance(fn, functools.partial) and
                                    fn.func is mmengine_worker_init_fn)
        is_ours = fn is epoch_worker_init_fn or (
            isinstance(fn, functools.partial) and
            fn.func is epoch_worker_init_fn)
        if is_default and self.install_worker_init_fn and \
                loader.num_workers > 0:
            loader.worker_init_fn = epoch_worker_init_fn
            is_ours = True
        if loader.num_workers > 0 and not is_ours:
            print_log(
                'EpochSeedHook: train_dataloader.worker_init_fn is a custom '
                'function; worker seeds are not derived from the epoch, so a '
                'resumed run may augment differently. Use worker_init_fn='
                "dict(type='epoch_worker_init_fn').",
                logger='current', level=logging.WARNING)
        if loader.num_workers > 0 and loader.persistent_workers and not any(
                getattr(ds, 'reseeds_persistent_workers', False)
                for ds in iter_datasets(dataset)):
            print_log(
                f'EpochSeedHook: persistent workers with '
                f'{type(dataset).__name__}, which does not re-seed its '
                'workers per epoch; set train_dataloader.persistent_workers='
                'False for an exact resume.', logger='current',
                level=logging.WARNING)
        sampler_seed = getattr(loader.sampler, 'seed', None)
        if sampler_seed is not None and int(sampler_seed) != int(seed):
            print_log(
                f'EpochSeedHook: the sampler was seeded with {sampler_seed} '
                f'but the run seed is {seed} (resumed without --seed?): the '
                'data order differs from the original run. Pass the same '
                '--seed when resuming.', logger='current',
                level=logging.WARNING)
        print_log(
            f'EpochSeedHook: worker seeds derived from (seed={self.seed}, '
            f'epoch, rank={self.rank}, worker id); main process re-seeded '
            f'per iteration: {self.reseed_main}', logger='current')

    def _follow_sampler_epoch(self, loader) -> None:
        """Publish the epoch whenever the sampler's ``set_epoch`` is called
        (by mmengine's infinite iterator between passes of
        ``IterBasedTrainLoop``), i.e. before the iterator of the new pass
        starts its workers. Only for iteration-based loops."""
        sampler = getattr(loader, 'sampler', None)
        original = getattr(sampler, 'set_epoch', None)
        if original is None or getattr(original, '_mmiivcl_wrapped', False):
            return
        dataset, hook = loader.dataset, self

        def set_epoch(epoch: int, *args, **kwargs):
            publish_seed_state(dataset, hook.seed, hook.rank, epoch)
            return original(epoch, *args, **kwargs)

        set_epoch._mmiivcl_wrapped = True
        try:
            sampler.set_epoch = set_epoch
        except AttributeError:  # pragma: no cover - __slots__ samplers
            pass

    def before_train_epoch(self, runner) -> None:
        loader = self._dataloader(runner)
        if loader is not None and runner.seed is not None:
            publish_seed_state(loader.dataset, self.seed, self.rank,
                               runner.epoch)
        if self.reseed_main:
            seed_all(derive_seed(self.seed, _TAG_EPOCH, runner.epoch,
                                 self._main_rank))

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.reseed_main:
            seed_all(derive_seed(self.seed, _TAG_ITER, runner.iter,
                                 self._main_rank))
