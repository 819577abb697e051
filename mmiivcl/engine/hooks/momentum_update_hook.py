"""Momentum-encoder update with cosine annealing (IIVCL paper, Eq.6)."""
import math
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class MomentumUpdateHook(Hook):
    """theta_k <- m(t) theta_k + (1 - m(t)) theta_q after every train step.

    ``m(t) = 1 - (1 - m0) * (cos(pi * t / T) + 1) / 2`` annealed from
    ``base_momentum`` (m0) at t = 0 to ``end_momentum`` at t = T, where t is
    the number of iterations completed before this update and T is
    ``max_iters`` (the rho-MoCo / SlowFast schedule, stepped per iteration).

    Paper convention: m is the weight kept by the *old* key parameters
    (0.994 means "move 0.6 % towards the online encoder"). mmengine's
    ``ExponentialMovingAverage`` uses the complement; this hook does not.

    Args:
        base_momentum (float): m0 in [0, 1), IIVCL 0.994, VCLR 0.999.
        end_momentum (float | None): momentum at t = T (1.0). ``None`` keeps
            m constant at ``base_momentum``.
    """

    priority = 'NORMAL'

    def __init__(self, base_momentum: float = 0.994,
                 end_momentum: Optional[float] = 1.0) -> None:
        if not 0.0 <= base_momentum < 1.0:
            raise ValueError(
                f'MomentumUpdateHook.base_momentum={base_momentum} must be in '
                '[0, 1) (paper convention, e.g. 0.994; not the mmengine EMA '
                'complement 0.006).')
        if end_momentum is not None and not base_momentum <= end_momentum <= 1:
            raise ValueError(
                f'MomentumUpdateHook.end_momentum={end_momentum} must be in '
                f'[base_momentum={base_momentum}, 1] or None (constant).')
        self.base_momentum = base_momentum
        self.end_momentum = end_momentum
        self.momentum = base_momentum

    def momentum_at(self, t: int, total: int) -> float:
        """m(t) of Eq.6 for t completed iterations out of ``total``."""
        if self.end_momentum is None:
            return self.base_momentum
        cos = (math.cos(math.pi * min(t, total) / max(total, 1)) + 1) / 2
        return self.end_momentum - (self.end_momentum -
                                    self.base_momentum) * cos

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'momentum_update'):
            raise TypeError(f'{type(model).__name__} has no momentum_update(); '
                            'MomentumUpdateHook needs a momentum-contrast '
                            'model such as IIVCL or VCLR.')
        self.momentum = self.momentum_at(runner.iter, runner.max_iters)
        model.momentum_update(self.momentum)
        runner.message_hub.update_scalar('train/momentum', self.momentum)
