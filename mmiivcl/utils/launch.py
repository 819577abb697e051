"""Launcher glue shared by tools/train.py and tools/test.py."""
import os

import torch

from ..compat import cpu_ddp_wrapper_cfg


def prepare_cfg_for_launch(cfg) -> None:
    """Make a distributed launch work on CPU-only machines.

    mmengine wraps the model with ``device_ids=[LOCAL_RANK]``, which CPU DDP
    rejects, and asks for NCCL. Without CUDA we switch the backend to gloo and
    pass ``device_ids=None`` (docs/design.md#pinned-stack-and-upstream-gaps).
    With CUDA nothing changes.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', None) or {})
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    if cfg.get('model_wrapper_cfg', None) is None:
        cfg.model_wrapper_cfg = cpu_ddp_wrapper_cfg()
    else:
        cfg.model_wrapper_cfg.setdefault('device_ids', None)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
