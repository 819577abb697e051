"""Fail fast when a linear probe's backbone is not really frozen.

docs/design.md#linear-probe: in the linear protocol the backbone's parameters
*and* its BN
running statistics must not change. Before the first training iteration
(after mmengine has put the model in train mode, which applies mmaction2's
``frozen_stages`` and ``norm_eval``) this hook asserts that no backbone
parameter requires grad and that every backbone BN layer is in eval mode.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.registry import HOOKS


@HOOKS.register_module()
class FrozenBackboneCheckHook(Hook):
    """Raise before training if ``model.backbone`` could change.

    Args:
        check_bn (bool): also require BN layers in eval mode (frozen running
            mean/var). Defaults to True.
    """

    priority = 'VERY_LOW'

    def __init__(self, check_bn: bool = True) -> None:
        self.check_bn = check_bn
        self._checked = False

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if self._checked:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = model.backbone
        trainable = [n for n, p in backbone.named_parameters()
                     if p.requires_grad]
        if trainable:
            raise RuntimeError(
                f'linear probe: {len(trainable)} backbone parameters require '
                f'grad (e.g. {trainable[:3]}); set model.backbone.'
                'frozen_stages to the number of stages and norm_eval=True')
        if self.check_bn:
            training_bn = [n for n, m in backbone.named_modules()
                           if isinstance(m, _BatchNorm) and m.training]
            if training_bn:
                raise RuntimeError(
                    f'linear probe: {len(training_bn)} backbone BN layers '
                    f'would update their running statistics (e.g. '
                    f'{training_bn[:3]}); set model.backbone.norm_eval=True')
        runner.logger.info(
            'FrozenBackboneCheckHook: 0 backbone parameters require grad'
            + (', all backbone BN layers in eval mode' if self.check_bn
               else ''))
        self._checked = True
