"""Report the videos an evaluation excluded, next to its metric.

Evaluation never drops a sample silently: an unreadable video makes
:class:`~mmiivcl.datasets.UnlabeledVideoDataset` (test mode) raise with the
file named. When the user allows skipping (``allow_skip_in_test=True``), the
dataset checks every video once, leaves the unreadable ones out and lists them
in ``dataset.excluded``; this hook then adds ``excluded_videos`` (the count)
to the metrics of the validation / test epoch, so it is printed in the same
log line as the metric and returned by ``runner.val()`` / ``runner.test()``,
and logs the excluded paths with their reasons.

Datasets without an ``excluded`` list (e.g. mmaction2's ``VideoDataset``,
which raises on an unreadable file) are left alone.
"""
import logging
from typing import Dict, List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmaction.registry import HOOKS

from ...datasets.worker_seed import iter_datasets


def excluded_videos(dataset) -> Optional[List[Tuple[str, str]]]:
    """``(path, reason)`` excluded by ``dataset`` (or what it wraps);
    ``None`` when no dataset keeps such a list."""
    found = None
    for ds in iter_datasets(dataset):
        exc = getattr(ds, 'excluded', None)
        if isinstance(exc, list):
            found = (found or []) + list(exc)
    return found


@HOOKS.register_module()
class ExcludedVideosHook(Hook):
    """Add ``excluded_videos`` to the val/test metrics and log the list.

    Args:
        max_listed (int): paths printed. Defaults to 50.
    """

    # after RuntimeInfoHook (VERY_HIGH) copied the metrics to the message
    # hub, before LoggerHook (BELOW_NORMAL) prints them
    priority = 'NORMAL'

    def __init__(self, max_listed: int = 50) -> None:
        self.max_listed = max_listed

    def _report(self, runner, loader, mode: str,
                metrics: Optional[Dict]) -> None:
        if loader is None or isinstance(loader, dict):
            return
        excluded = excluded_videos(loader.dataset)
        if excluded is None:
            return
        n = len(excluded)
        if metrics is not None:
            metrics['excluded_videos'] = n
        runner.message_hub.update_scalar(f'{mode}/excluded_videos', float(n))
        if n:
            listed = '\n'.join(f'  {p}: {r}'
                               for p, r in excluded[:self.max_listed])
            more = n - min(n, self.max_listed)
            print_log(
                f'{mode} metrics computed WITHOUT {n} unreadable video(s) '
                f'(allow_skip_in_test=True), {len(loader.dataset)} '
                f'evaluated:\n{listed}' + (f'\n  ... {more} more' if more
                                            else ''),
                logger='current', level=logging.WARNING)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report(runner, runner.val_loop.dataloader
                     if _built(runner, '_val_loop') else None, 'val',
                     metrics)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report(runner, runner.test_loop.dataloader
                     if _built(runner, '_test_loop') else None, 'test',
                     metrics)


def _built(runner, attr: str) -> bool:
    loop = getattr(runner, attr, None)
    return loop is not None and not isinstance(loop, dict)
