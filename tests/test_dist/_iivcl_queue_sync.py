"""Run under torchrun (gloo, CPU): train a tiny IIVCL for a few steps with
DDP and record, after every step, each rank's queues and pointers."""
import json
import os
import sys

import torch
import torch.distributed as dist

import mmiivcl  # noqa: F401
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from test_models.test_iivcl import tiny_cfg  # noqa: E402


def queue_state(q) -> dict:
    """A FeatureQueue's keys, video indices and pointer, JSON-able."""
    return dict(feats=q.feats.tolist(), indices=q.indices.tolist(),
                ptr=int(q.ptr))


def train_random_steps(model, rank: int, steps: int = 4) -> list:
    """DDP-train ``model`` on random uint8 clips (3 videos x 2 clips per
    rank and step, video ids unique over ranks and steps) with a momentum
    update after each step; returns every step's queue states."""
    ddp = MMDistributedDataParallel(model, device_ids=None,
                                    broadcast_buffers=False)
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.05))
    g = torch.Generator().manual_seed(1000 + rank)
    record = []
    for step in range(steps):  # 4 steps x 2 ranks x 3 videos x 2 clips = 48
        vids = [rank * 100 + step * 10 + i for i in range(3)]
        data = dict(inputs=[(torch.rand(2, 3, 4, 32, 32, generator=g) * 255)
                            .to(torch.uint8) for _ in vids],
                    data_samples=[ActionDataSample(metainfo=dict(sample_idx=v))
                                  for v in vids])
        ddp.train_step(data, optim)
        model.momentum_update(0.99)
        record.append({b: queue_state(getattr(model, f'queue_{b}'))
                       for b in model.branches})
    return record


def main(out):
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)  # same init on every rank
    model = MODELS.build(tiny_cfg(queue_len=20, exclude_same_video=True))
    model.init_weights()
    record = train_random_steps(model, rank)  # queue length 20 < 48 keys
    with open(f'{out}.rank{rank}.json', 'w') as f:
        json.dump(dict(rank=rank, world=world, record=record), f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
