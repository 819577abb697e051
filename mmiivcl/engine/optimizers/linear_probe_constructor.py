"""Optimizer for the linear protocol: only the classifier is optimised.

IIVCL paper, App. B.1.2 (docs/design.md#linear-probe): the backbone is frozen
*and* its BN
statistics are frozen; a linear classifier learns on top. mmaction2's
``frozen_stages`` / ``norm_eval`` only take effect when ``model.train()`` is
called, which mmengine does *after* building the optimizer, so the default
constructor would put every backbone parameter into the optimizer. This
constructor applies the backbone's freezing first (``backbone.train(mode)``
runs ``_freeze_stages`` and ``norm_eval``), refuses a backbone with trainable
parameters, and gives the optimizer only the parameters that require grad.
"""
import inspect
from typing import List

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
from torch import nn

from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS


def trainable_backbone_params(model: nn.Module) -> List[str]:
    """Names of ``model.backbone`` parameters with ``requires_grad``."""
    if is_model_wrapper(model):
        model = model.module
    return [n for n, p in model.backbone.named_parameters() if p.requires_grad]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LinearProbeOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Default constructor restricted to trainable (non-backbone) params.

    Raises:
        RuntimeError: if a backbone parameter still requires grad after the
            backbone's freezing (``frozen_stages`` must cover every stage),
            or if nothing is left to optimise.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        module = model.module if is_model_wrapper(model) else model
        backbone = getattr(module, 'backbone', None)
        if backbone is None:
            raise RuntimeError('LinearProbeOptimWrapperConstructor needs a '
                               'model with a `backbone`')
        backbone.train(backbone.training)  # _freeze_stages + norm_eval now
        left = trainable_backbone_params(module)
        if left:
            raise RuntimeError(
                f'linear probe: {len(left)} backbone parameters still require '
                f'grad (e.g. {left[:3]}); set model.backbone.frozen_stages to '
                'the number of stages (4) and norm_eval=True')
        trainable = [(n, p) for n, p in module.named_parameters()
                     if p.requires_grad]
        if not trainable:
            raise RuntimeError('linear probe: no trainable parameter left')
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_cfg['type'])
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        if not self.paramwise_cfg:
            optimizer_cfg[first_arg] = [p for _, p in trainable]
        else:
            groups: List[dict] = []
            self.add_params(groups, module)
            optimizer_cfg[first_arg] = [
                g for g in groups if g['params'][0].requires_grad
            ]
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        wrapper = OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer))
        print_log(
            'LinearProbeOptimWrapperConstructor: optimizing '
            f'{len(trainable)} tensors '
            f'({sum(p.numel() for _, p in trainable)} parameters): '
            + ', '.join(n for n, _ in trainable) + '; backbone frozen (0 '
            'parameters require grad)', logger='current')
        return wrapper

