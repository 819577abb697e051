"""Stop at the first non-finite loss.

A NaN or Inf loss poisons the weights, the momentum encoder and the queues
within one step, and every checkpoint saved afterwards. This hook runs first
among the ``after_train_iter`` hooks (before ``MomentumUpdateHook`` and
``CheckpointHook``), so the run stops before anything of that iteration is
saved. The error names the iteration, every loss term (the culprit marked),
the samples of the batch and the last good checkpoint to resume from. In a
distributed run the "any rank non-finite" flag is all-reduced, so all ranks
stop together instead of hanging in the next collective.
"""
import math
from numbers import Number
from typing import Dict, List, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook

from mmaction.registry import HOOKS


def _as_float(v) -> Optional[float]:
    if isinstance(v, torch.Tensor):
        if v.numel() != 1:
            return None
        return float(v.detach().float().item())
    if isinstance(v, Number):
        return float(v)
    return None


def nonfinite_terms(outputs: Dict) -> Dict[str, float]:
    """The scalar entries of ``outputs`` that are NaN or +-Inf."""
    out = {}
    for k, v in (outputs or {}).items():
        f = _as_float(v)
        if f is not None and not math.isfinite(f):
            out[k] = f
    return out


def _batch_samples(data_batch, limit: int = 16) -> List[str]:
    samples = (data_batch or {}).get('data_samples') if isinstance(
        data_batch, dict) else None
    out = []
    for s in (samples or [])[:limit]:
        meta = getattr(s, 'metainfo', {}) or {}
        idx, fn = meta.get('sample_idx'), meta.get('filename')
        out.append(f'{idx}' + (f' ({fn})' if fn else ''))
    if samples and len(samples) > limit:
        out.append(f'... {len(samples) - limit} more')
    return out


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first NaN/Inf in the step outputs.

    Args:
        keys (str): only outputs whose name contains this substring are
            checked (``'loss'``: the loss terms and the total). ``''`` checks
            every scalar output (accuracies, similarities...).
    """

    priority = 'VERY_HIGH'

    def __init__(self, keys: str = 'loss') -> None:
        self.keys = keys

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        outputs = outputs or {}
        checked = {k: v for k, v in outputs.items() if self.keys in k}
        bad = nonfinite_terms(checked)
        flag = torch.tensor([1 if bad else 0], dtype=torch.int64)
        if dist.get_world_size() > 1:
            dist.all_reduce(flag, op='max')
        if not int(flag):
            return
        rank = dist.get_rank()
        terms = []
        for k, v in outputs.items():
            f = _as_float(v)
            if f is not None:
                terms.append(f'{k}={f:.6g}' + ('  <-- non-finite'
                                               if k in bad else ''))
        last = runner.message_hub.get_info('last_ckpt', None)
        if last:
            resume = (f'last good checkpoint: {last} (resume with '
                      f'--resume {last} after fixing the cause)')
        else:
            resume = 'last good checkpoint: none saved yet'
        where = ('on this rank' if bad else
                 f'on another rank (rank {rank} is finite)')
        samples = _batch_samples(data_batch)
        raise FloatingPointError(
            f'Non-finite loss at iteration {runner.iter + 1} (runner.iter='
            f'{runner.iter}, epoch {runner.epoch + 1}, batch {batch_idx}) '
            f'{where}; nothing of this iteration was saved.\n'
            f'  loss terms (rank {rank}): ' + ', '.join(terms) + '\n'
            f'  {resume}\n'
            + (f'  samples (sample_idx): {", ".join(samples)}\n'
               if samples else '') +
            '  usual causes: learning rate too high for the total batch '
            '(check auto_scale_lr), AMP overflow (drop --amp or keep the '
            'contrastive logits in fp32), no gradient clipping (set '
            'optim_wrapper.clip_grad=dict(max_norm=...)), a temperature close '
            'to 0, or broken input frames.')
