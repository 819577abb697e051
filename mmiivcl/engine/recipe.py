"""What a pretraining config *effectively* trains with under a given launch.

Derived through mmengine's own code paths, not re-implemented:
``Runner.scale_lr`` for ``auto_scale_lr`` (after
:func:`~mmiivcl.engine.auto_scale_lr.account_for_accumulation`, as
``tools/train.py`` applies it), a real ``OptimWrapper`` for when an
accumulation steps, and :class:`~mmiivcl.engine.hooks.MomentumUpdateHook`
for the key-encoder momentum of every optimizer step.

Used by ``tools/describe_recipe.py`` (the table on docs/pretraining.md) and
by the recipe test, which compares it with the IIVCL paper (Sec. 3.3.2:
batch 512, lr 0.4, 35 warm-up epochs, 200 epochs, m 0.994 -> 1).
"""
import copy
import math
from types import SimpleNamespace
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from torch import nn

from .auto_scale_lr import account_for_accumulation, accumulative_counts_of
from .hooks.momentum_update_hook import MomentumUpdateHook


def _momentum_hook_cfg(cfg) -> dict:
    for h in cfg.get('custom_hooks', []) or []:
        if h.get('type') == 'MomentumUpdateHook':
            return dict(h)
    raise ValueError('the config has no MomentumUpdateHook in custom_hooks')


def _scaled_lr(cfg, world_size: int) -> float:
    """The lr the optimizer holds after mmengine's ``Runner.scale_lr``."""
    model = nn.Linear(1, 1)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    stub = SimpleNamespace(
        _train_dataloader=cfg.train_dataloader, world_size=world_size,
        param_schedulers=None,
        logger=MMLogger.get_current_instance())
    Runner.scale_lr(stub, wrapper, cfg.get('auto_scale_lr', None))
    return wrapper.optimizer.param_groups[0]['lr']


def _momentum_at_iterations(cfg, iters: List[int], max_iters: int
                            ) -> Dict[int, float]:
    """The hook's momentum after each of ``iters`` (0-based iteration
    indices), or None where the optimizer did not step (no EMA there)."""
    acc = accumulative_counts_of(cfg)
    hook_cfg = _momentum_hook_cfg(cfg)
    hook_cfg.pop('type')
    hook = MomentumUpdateHook(**hook_cfg)
    param = nn.Parameter(torch.zeros(1))
    wrapper = build_optim_wrapper(
        nn.Linear(1, 1), dict(optimizer=dict(type='SGD', lr=0.0),
                              accumulative_counts=acc))
    calls = []
    model = SimpleNamespace(momentum_update=calls.append)
    hub = SimpleNamespace(update_scalar=lambda *a, **k: None)
    out, prev = {}, None
    for it in iters:
        if prev is None or it != prev + 1:  # as mmengine starts/resumes there
            wrapper.initialize_count_status(nn.Linear(1, 1), it, max_iters)
        prev = it
        # the optimizer wrapper as mmengine leaves it after iteration ``it``
        wrapper.update_params((param * 0).sum())
        n = len(calls)
        runner = SimpleNamespace(model=model, iter=it, max_iters=max_iters,
                                 optim_wrapper=wrapper, cfg=cfg,
                                 message_hub=hub)
        hook.after_train_iter(runner, it)
        out[it] = calls[-1] if len(calls) > n else None
    return out


def describe_launch(cfg: Config, gpus: int, num_videos: int = 240_000
                    ) -> Dict[str, float]:
    """Effective recipe of ``cfg`` trained on ``gpus`` processes.

    Args:
        cfg (Config): a pretraining config (after any ``--cfg-options``).
        gpus (int): world size of the launch.
        num_videos (int): training videos (Kinetics-400 train ~240k); only
            the step counts depend on it.

    Returns:
        dict: ``batch_per_gpu``, ``accumulative_counts``, ``effective_batch``
        (videos per optimizer step), ``lr`` (after ``auto_scale_lr``),
        ``epochs``, ``warmup_epochs``, ``iters_per_epoch``,
        ``steps_per_epoch`` (optimizer steps), ``warmup_steps``,
        ``total_steps`` (T of the momentum schedule), ``momentum_first`` /
        ``momentum_last`` (m at the first and last optimizer step),
        ``ema_updates_per_step`` (EMA updates per optimizer step).
    """
    cfg = copy.deepcopy(cfg)
    account_for_accumulation(cfg)
    bs = cfg.train_dataloader['batch_size']
    acc = accumulative_counts_of(cfg)
    per_iter = gpus * bs
    drop_last = cfg.train_dataloader.get('drop_last', False)
    iters_per_epoch = (num_videos // per_iter if drop_last
                       else -(-num_videos // per_iter))
    epochs = cfg.train_cfg['max_epochs']
    max_iters = epochs * iters_per_epoch
    warmup = [s for s in cfg.param_scheduler if s['type'] == 'LinearLR']
    warmup_epochs = warmup[0]['end'] - warmup[0].get('begin', 0) \
        if warmup else 0
    total_steps = math.ceil(max_iters / acc)
    # EMA updates during the first accumulation window and around the end
    probe = list(range(min(2 * acc, max_iters))) + [max_iters - 1]
    m = _momentum_at_iterations(cfg, probe, max_iters)
    first_window = [m[i] for i in range(min(acc, max_iters))]
    return dict(
        gpus=gpus, batch_per_gpu=bs, accumulative_counts=acc,
        effective_batch=per_iter * acc, lr=_scaled_lr(cfg, gpus),
        epochs=epochs, warmup_epochs=warmup_epochs,
        iters_per_epoch=iters_per_epoch,
        steps_per_epoch=iters_per_epoch / acc,
        warmup_steps=warmup_epochs * iters_per_epoch / acc,
        total_steps=total_steps,
        momentum_first=next(v for v in m.values() if v is not None),
        momentum_last=m[max_iters - 1],
        ema_updates_per_step=sum(v is not None for v in first_window))


def recipe_table(rows: List[Dict[str, float]]) -> str:
    """Markdown table of :func:`describe_launch` results, one column each."""
    fields = [
        ('launch', lambda r: f"{r['gpus']} GPUs x {r['batch_per_gpu']}"
         + (f" x acc {r['accumulative_counts']}"
            if r['accumulative_counts'] > 1 else '')),
        ('effective batch (videos / optimizer step)',
         lambda r: f"{r['effective_batch']}"),
        ('lr after auto_scale_lr', lambda r: f"{r['lr']:.4g}"),
        ('epochs (warm-up + cosine)',
         lambda r: f"{r['epochs']} ({r['warmup_epochs']} + "
         f"{r['epochs'] - r['warmup_epochs']})"),
        ('iterations / epoch', lambda r: f"{r['iters_per_epoch']}"),
        ('optimizer steps / epoch', lambda r: f"{r['steps_per_epoch']:g}"),
        ('warm-up optimizer steps', lambda r: f"{r['warmup_steps']:g}"),
        ('optimizer steps T (momentum schedule)',
         lambda r: f"{r['total_steps']}"),
        ('EMA updates per optimizer step',
         lambda r: f"{r['ema_updates_per_step']}"),
        ('m at first / last step',
         lambda r: f"{r['momentum_first']:.4f} / {r['momentum_last']:.6f}"),
    ]
    head = '| quantity | ' + ' | '.join(fields[0][1](r) for r in rows) + ' |'
    sep = '|---|' + '---|' * len(rows)
    body = [f'| {name} | ' + ' | '.join(fn(r) for r in rows) + ' |'
            for name, fn in fields[1:]]
    return '\n'.join([head, sep] + body)
