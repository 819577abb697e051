"""Momentum-encoder update with cosine annealing (IIVCL paper, Eq.6)."""
import math
from typing import Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class MomentumUpdateHook(Hook):
    """theta_k <- m(t) theta_k + (1 - m(t)) theta_q after every optimizer step.

    ``m(t) = 1 - (1 - m0) * (cos(pi * t / T) + 1) / 2`` annealed from
    ``base_momentum`` (m0) at t = 0 to ``end_momentum`` at t = T (IIVCL
    paper, Eq. 6; the rho-MoCo / SlowFast schedule). The schedule counts
    *optimizer steps*: t is the number of optimizer steps completed before
    this one and T = ceil(max_iters / accumulative_counts). With gradient
    accumulation (``optim_wrapper.accumulative_counts`` = a) the online
    weights move only every a-th iteration (and at ``max_iters``), so the
    key encoder is updated only then -- an EMA step per micro-iteration
    would act like m**a. Without accumulation t and T are iterations.

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

    @staticmethod
    def optimizer_steps(iters_done: int, accumulative_counts: int) -> int:
        """Optimizer steps taken after ``iters_done`` iterations with
        gradient accumulation over ``accumulative_counts`` iterations
        (a partial accumulation steps only at ``max_iters``, where mmengine
        forces the update; callers pass ``max_iters`` there)."""
        return -(-iters_done // accumulative_counts) if iters_done else 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'momentum_update'):
            raise TypeError(f'{type(model).__name__} has no momentum_update(); '
                            'MomentumUpdateHook needs a momentum-contrast '
                            'model such as IIVCL or VCLR.')
        wrapper = getattr(runner, 'optim_wrapper', None)
        should_update = getattr(wrapper, 'should_update', None)
        if callable(should_update) and not should_update():
            return  # gradients accumulated, the online weights did not move
        acc = accumulative_counts(runner)
        # runner.iter: iterations completed before this one; this iteration
        # ended an accumulation (or is the last), so steps before it:
        t = self.optimizer_steps(runner.iter + 1, acc) - 1
        total = self.optimizer_steps(runner.max_iters, acc)
        self.momentum = self.momentum_at(t, total)
        model.momentum_update(self.momentum)
        runner.message_hub.update_scalar('train/momentum', self.momentum)


def accumulative_counts(runner) -> int:
    """``optim_wrapper.accumulative_counts`` of the runner's config, as
    ``Runner.from_cfg`` (tools/train.py) keeps it; 1 when unset."""
    cfg = getattr(runner, 'cfg', None)
    wrapper_cfg = cfg.get('optim_wrapper', None) if cfg is not None else None
    if not wrapper_cfg:
        return 1
    return int(wrapper_cfg.get('accumulative_counts', 1) or 1)
