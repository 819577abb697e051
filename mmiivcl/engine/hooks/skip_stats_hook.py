"""Running count of skipped (unreadable) training videos, over workers and
ranks, and a stop above a bad-file fraction.

:class:`~mmiivcl.datasets.UnlabeledVideoDataset` marks each video it had to
skip in a shared-memory ``bad_mask`` that its DataLoader workers update in
place, so the main process of each rank sees the union over its workers.
This hook all-reduces the masks with ``max`` over ranks, logs the count as
``skipped_videos`` (and the number of replacements as ``skip_events``), and
stops the run with the list of bad files once more than ``max_bad_fraction``
of the training videos proved unreadable. The union is written back into
every rank's mask, so a video found bad on one rank is not opened again on
another. The known-bad list is stored in checkpoints (``meta``) and restored
on resume.
"""
import logging
from typing import List, Optional, Tuple

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmaction.registry import HOOKS

from ...datasets.errors import UnreadableVideosError
from ...datasets.worker_seed import iter_datasets

META_KEY = 'mmiivcl_skipped_videos'


def find_skip_dataset(dataset):
    """The first dataset (possibly wrapped) that keeps skip statistics."""
    for ds in iter_datasets(dataset):
        if hasattr(ds, 'bad_mask') and hasattr(ds, 'skip_report'):
            return ds
    return None


@HOOKS.register_module()
class SkipStatsHook(Hook):
    """Log and bound the number of unreadable training videos.

    Args:
        interval (int): check every ``interval`` training iterations (and at
            the end of every epoch). One all-reduce of a (num_videos,) uint8
            mask per check. Defaults to 50.
        max_bad_fraction (float | None): stop once more than this fraction
            of the training videos is known bad (the error lists them).
            ``None`` never stops. Defaults to 0.05.
        max_listed (int): paths named in the log / error (all are counted).
            Defaults to 100.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) in the same iter

    def __init__(self, interval: int = 50,
                 max_bad_fraction: Optional[float] = 0.05,
                 max_listed: int = 100) -> None:
        if interval < 1:
            raise ValueError(f'SkipStatsHook.interval={interval} must be >= 1')
        if max_bad_fraction is not None and not 0 <= max_bad_fraction <= 1:
            raise ValueError(
                f'SkipStatsHook.max_bad_fraction={max_bad_fraction} must be '
                'in [0, 1] (a fraction of the training videos) or None.')
        self.interval = interval
        self.max_bad_fraction = max_bad_fraction
        self.max_listed = max_listed
        self.num_skipped = 0
        self.num_events = 0
        self._logged = 0
        self._dataset = None

    # ------------------------------------------------------------------
    def _get_dataset(self, runner):
        if self._dataset is None:
            loop = getattr(runner, '_train_loop', None)
            if loop is None or isinstance(loop, dict):
                return None
            self._dataset = find_skip_dataset(loop.dataloader.dataset)
        return self._dataset

    def before_train(self, runner) -> None:
        if self._get_dataset(runner) is None:
            print_log('SkipStatsHook: the training dataset keeps no skip '
                      'statistics (not an UnlabeledVideoDataset); inactive',
                      logger='current', level=logging.INFO)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self.update(runner)

    def after_train_epoch(self, runner) -> None:
        self.update(runner)

    def update(self, runner) -> Tuple[int, int]:
        """All-reduce, log, and stop above the fraction. Returns
        ``(num_skipped, num_events)`` over all ranks (0, 0 when inactive)."""
        ds = self._get_dataset(runner)
        if ds is None:
            return 0, 0
        mask = ds.bad_mask.clone()
        events = torch.tensor([ds.num_skip_events], dtype=torch.int64)
        if dist.get_world_size() > 1:
            dist.all_reduce(mask, op='max')
            dist.all_reduce(events, op='sum')
            # share what other ranks found, so nobody opens those again
            torch.maximum(ds.bad_mask, mask, out=ds.bad_mask)
            modes = getattr(ds, 'read_mode', None)
            if modes is not None and modes.numel() == mask.numel():
                # per-file read verdicts (deterministic, so MAX merges
                # "not decided yet" with the verdict): checked on one rank
                merged = modes.clone()
                dist.all_reduce(merged, op='max')
                modes.copy_(merged)
        n_bad = int((mask > 0).sum())
        self.num_skipped, self.num_events = n_bad, int(events)
        runner.message_hub.update_scalar('train/skipped_videos', float(n_bad))
        runner.message_hub.update_scalar('train/skip_events', float(events))
        total = max(len(ds), 1)
        read_by = ds.read_counts() if hasattr(ds, 'read_counts') else {}
        if n_bad > self._logged:
            self._logged = n_bad
            print_log(
                f'SkipStatsHook: {n_bad} of {len(ds)} training videos '
                f'skipped so far ({100.0 * n_bad / total:.2f}%, '
                f'{int(events)} replacements, summed over workers and '
                f'{dist.get_world_size()} rank(s))'
                + (f'; read by (this rank): {read_by}' if read_by else ''),
                logger='current', level=logging.WARNING)
        elif read_by and read_by != getattr(self, '_read_by_logged', None) \
                and any(k != 'decord' for k in read_by):
            self._read_by_logged = dict(read_by)
            print_log(f'SkipStatsHook: videos read by (this rank): '
                      f'{read_by}', logger='current', level=logging.INFO)
        if self.max_bad_fraction is not None and \
                n_bad / total > self.max_bad_fraction:
            report = self.report(ds, mask)
            raise UnreadableVideosError(
                report[:self.max_listed],
                f'{n_bad} of {len(ds)} training videos '
                f'({100.0 * n_bad / total:.1f}%) cannot be used, more than '
                f'default_hooks.skip_stats.max_bad_fraction='
                f'{self.max_bad_fraction}. Run tools/check_videos.py on the '
                'list and train on the clean list it writes, or raise '
                'default_hooks.skip_stats.max_bad_fraction (e.g. '
                '--cfg-options default_hooks.skip_stats.max_bad_fraction=0.1)'
                + (f'; first {self.max_listed} listed' if
                   len(report) > self.max_listed else ''))
        return n_bad, int(events)

    @staticmethod
    def report(ds, mask: torch.Tensor) -> List[Tuple[str, str]]:
        """``(path, reason)`` of every video set in ``mask``."""
        from ...datasets.unlabeled_video_dataset import REASON_NAMES
        local = dict(ds.skip_report())
        out = []
        for i in torch.nonzero(mask).flatten().tolist():
            path = ds.get_data_info(i)['filename']
            out.append((path, local.get(
                path, REASON_NAMES.get(int(mask[i]), 'unusable'))))
        return out

    # ------------------------------------------------------------------
    # persistence
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        ds = self._get_dataset(runner)
        if ds is None:
            return
        idx = torch.nonzero(ds.bad_mask).flatten().tolist()
        checkpoint.setdefault('meta', {})[META_KEY] = [
            (i, int(ds.bad_mask[i]), ds.get_data_info(i)['filename'])
            for i in idx]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = (checkpoint.get('meta') or {}).get(META_KEY)
        ds = self._get_dataset(runner)
        if not saved or ds is None:
            return
        restored = 0
        for i, code, path in saved:
            if 0 <= i < len(ds) and ds.get_data_info(i)['filename'] == path:
                ds.mark_bad(i, code)
                restored += 1
        if restored:
            print_log(f'SkipStatsHook: {restored} known-bad video(s) restored '
                      'from the checkpoint; they will not be opened again',
                      logger='current', level=logging.WARNING)
