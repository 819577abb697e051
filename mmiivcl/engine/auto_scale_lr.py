"""``auto_scale_lr`` that counts gradient accumulation.

mmengine's ``Runner.scale_lr`` scales the lr by
``world_size * batch_size / base_batch_size`` and ignores
``optim_wrapper.accumulative_counts``. With accumulation over a iterations
the effective batch is ``world_size * batch_size * a``, so the documented
8 GPUs x 8 videos x ``accumulative_counts=8`` launch of the paper's batch
512 would train at lr 0.4 x 64 / 512 = 0.05 instead of 0.4.
:func:`account_for_accumulation` divides ``base_batch_size`` by a before the
Runner is built, which makes mmengine's own scaling use the effective batch.
"""
import logging

from mmengine.logging import print_log


def accumulative_counts_of(cfg) -> int:
    """``optim_wrapper.accumulative_counts`` of a config (1 when unset)."""
    wrapper = cfg.get('optim_wrapper', None) or {}
    return int(wrapper.get('accumulative_counts', 1) or 1)


def account_for_accumulation(cfg) -> None:
    """Make ``auto_scale_lr`` scale by the effective batch (in place).

    Marks the config (``auto_scale_lr.accumulation_applied``) so a second
    call does nothing.
    """
    scale = cfg.get('auto_scale_lr', None)
    acc = accumulative_counts_of(cfg)
    if not scale or not scale.get('enable', False) or acc == 1 \
            or scale.get('accumulation_applied', False):
        return
    base = scale['base_batch_size']
    scale['base_batch_size'] = base / acc
    scale['accumulation_applied'] = True
    print_log(
        f'auto_scale_lr: optim_wrapper.accumulative_counts={acc}, so the '
        f'effective batch is world_size x batch_size x {acc}; scaling the lr '
        f'against base_batch_size {base} / {acc} = {base / acc:g} per '
        'optimizer step of accumulated micro-batches.',
        logger='current', level=logging.INFO)
