"""Run under torchrun (gloo, CPU): IIVCL with ``gather_keys=False`` (SlowFast
rho-MoCo's per-rank queues). After a few DDP steps, and again after the
epoch-end buffer sync of the default runtime, record each rank's queue and
its BN running statistics."""
import json
import os
import sys
from types import SimpleNamespace

import torch
import torch.distributed as dist

import mmiivcl  # noqa: F401
from mmaction.registry import HOOKS, MODELS

sys.path.insert(0, os.path.dirname(__file__))
from _iivcl_queue_sync import queue_state, train_random_steps  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from test_models.test_iivcl import tiny_cfg  # noqa: E402


def bn_means(model):
    """The first few online BN running means, flattened."""
    return [v for n, b in model.named_buffers()
            if n.endswith('running_mean') and not n.startswith(
                'momentum_encoder') for v in b.tolist()][:48]


def main(out):
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(queue_len=40, gather_keys=False))
    model.init_weights()
    record = train_random_steps(model, rank, steps=3)  # 18 keys per rank
    before_sync = bn_means(model)
    hook = HOOKS.build(dict(type='SyncBuffersExceptLocalHook'))
    hook.after_train_epoch(SimpleNamespace(model=model))
    after = {b: queue_state(getattr(model, f'queue_{b}'))
             for b in model.branches}
    with open(f'{out}.rank{rank}.json', 'w') as f:
        json.dump(dict(record=record, after_sync=after,
                       bn_before=before_sync, bn_after=bn_means(model),
                       local=model.rank_local_buffers()), f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
