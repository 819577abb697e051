"""mmengine's ``SyncBuffersHook`` that leaves rank-local state alone."""
from typing import List

from mmaction.registry import HOOKS
from mmengine.dist import all_reduce_params
from mmengine.hooks import SyncBuffersHook
from mmengine.model import is_model_wrapper
from torch import Tensor


@HOOKS.register_module()
class SyncBuffersExceptLocalHook(SyncBuffersHook):
    """Average the model's buffers across ranks (BN running statistics) at
    the end of every training epoch, as ``SyncBuffersHook`` does, except the
    buffers the model names in ``rank_local_buffers()``.

    Per-rank queues (``IIVCL(gather_keys=False)``, SlowFast rho-MoCo's way)
    must not be averaged: their keys, video indices and write pointers differ
    on purpose. A model without ``rank_local_buffers`` has all its buffers
    averaged, exactly like mmengine's hook.
    """

    def _buffers(self, runner) -> List[Tensor]:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        local = getattr(model, 'rank_local_buffers', None)
        skip = set(local()) if callable(local) else set()
        return [b for name, b in model.named_buffers() if name not in skip]

    def before_val_epoch(self, runner) -> None:
        if self.distributed:
            if not self.called_in_train:
                all_reduce_params(self._buffers(runner), op='mean')
            self.called_in_train = False

    def after_train_epoch(self, runner) -> None:
        if self.distributed:
            all_reduce_params(self._buffers(runner), op='mean')
            self.called_in_train = True
