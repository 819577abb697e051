"""Run under torchrun (gloo, CPU, 2 processes) by test_distributed.py; each
rank writes what it saw to ``<out>.rank<r>.json`` for the test to compare.

1. queues: a tiny IIVCL trained with DDP for 4 steps; the keys each rank
   passes to ``FeatureQueue.enqueue`` (before the gather) and the queues after
   every step;
2. shuffle-BN: the permutation slices, the unshuffle index and the round trip;
3. SyncBN: the option builds, converts, keeps the checkpoint keys, and is
   refused on a distributed CPU run with the key named;
4. metrics: KNNMetric / VideoRetrievalMetric fed through a padding
   DefaultSampler, evaluated with the true size and with the padding kept;
5. SkipStatsHook: bad videos found on different ranks are counted once each,
   the union is shared, and the bad-fraction stop fires on both ranks;
6. NonFiniteLossHook: a NaN on one rank stops both.
"""
import copy
import json
import os
import sys
import types

import numpy as np
import torch
import torch.distributed as tdist

import mmiivcl  # noqa: F401
from mmaction.registry import MODELS
from mmengine.dataset import DefaultSampler
from mmengine.logging import MessageHub
from mmengine.model import convert_sync_batchnorm

from mmiivcl.datasets import UnlabeledVideoDataset, UnreadableVideosError
from mmiivcl.engine.hooks import NonFiniteLossHook, SkipStatsHook
from mmiivcl.engine.hooks.pretrain_config_check_hook import (ConfigError,
                                                             check_sync_bn)
from mmiivcl.evaluation import KNNMetric
from mmiivcl.retrieval import VideoRetrievalMetric
from mmiivcl.models.utils import (FeatureQueue, batch_shuffle_ddp,
                                  batch_unshuffle_ddp, concat_all_gather)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_dist._iivcl_queue_sync import train_random_steps  # noqa: E402

BACKBONE = dict(type='ResNet3d', depth=18, pretrained=None,
                pretrained2d=False, base_channels=8, conv1_kernel=(1, 3, 3),
                conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
                norm_eval=False)


def tiny(**kw):
    head = dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                out_channels=16, num_layers=3)
    cfg = dict(type='IIVCL', backbone=copy.deepcopy(BACKBONE),
               head_intra=head, head_nn=copy.deepcopy(head), feat_dim=16,
               queue_len=20, temperature=0.1, exclude_same_video=True,
               data_preprocessor=dict(type='ActionDataPreprocessor',
                                      format_shape='NCTHW'))
    cfg.update(kw)
    return cfg


def check_queues(rank):
    torch.manual_seed(0)  # same init on every rank
    model = MODELS.build(tiny())
    model.init_weights()
    names = {id(m): n for n, m in model.named_modules()
             if isinstance(m, FeatureQueue)}
    local = []
    original = FeatureQueue.enqueue

    def recording(self, keys, video_idx, gather=True):
        local.append(dict(queue=names[id(self)], ptr=int(self.ptr),
                          keys=keys.tolist(), vid=video_idx.tolist()))
        return original(self, keys, video_idx, gather)

    FeatureQueue.enqueue = recording
    record = train_random_steps(model, rank)  # queue length 20 < 48 keys
    steps = [{f'queue_{b}': st for b, st in r.items()} for r in record]
    FeatureQueue.enqueue = original
    return dict(steps=steps, local=local)


def check_shuffle(rank):
    n = 4
    x = (rank * n + torch.arange(n, dtype=torch.float32)).view(n, 1)
    x = x.repeat(1, 3)
    torch.manual_seed(123 + rank)  # ranks' generators differ on purpose
    xs, idx = batch_shuffle_ddp(x)
    back = batch_unshuffle_ddp(xs, idx)
    return dict(x=x[:, 0].tolist(), shuffled=xs[:, 0].tolist(),
                idx_unshuffle=idx.tolist(), restored=back[:, 0].tolist(),
                all_shuffled=concat_all_gather(xs)[:, 0].tolist())


def check_syncbn():
    out = {}
    bb = copy.deepcopy(BACKBONE)
    bb['norm_cfg'] = dict(type='SyncBN', requires_grad=True)
    try:
        MODELS.build(tiny(backbone=bb))  # shuffle_bn defaults to True
    except ValueError as exc:
        out['shuffle_with_syncbn'] = str(exc)
    model = MODELS.build(tiny(backbone=bb, shuffle_bn=False))
    count = lambda mod: sum(isinstance(m, torch.nn.SyncBatchNorm)  # noqa
                            for m in mod.modules())
    out['sync_online'] = count(model.backbone)
    out['sync_momentum'] = count(model.momentum_encoder)
    plain = MODELS.build(tiny(shuffle_bn=False))
    out['bn_layers'] = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                           for m in plain.backbone.modules())
    keys = sorted(plain.state_dict())
    converted = convert_sync_batchnorm(plain)  # what cfg.sync_bn does
    out['converted_sync'] = count(converted)
    out['converted_keys_same'] = sorted(converted.state_dict()) == keys
    out['sync_keys_same'] = sorted(model.state_dict()) == keys
    try:
        check_sync_bn(model, tdist.get_world_size(), 'cpu')
    except ConfigError as exc:
        out['cpu_refused'] = str(exc)
    return out


def check_metrics(rank, world):
    g = torch.Generator().manual_seed(0)
    labels = [0, 1, 2, 0, 1, 2, 0]
    # class centres plus noise: a metric that is neither 0 nor 100
    feats = 1.2 * torch.eye(8)[labels] + torch.randn(7, 8, generator=g)
    sampler = DefaultSampler(list(range(7)), shuffle=False, round_up=True)
    idx = list(sampler)  # rank-strided, padded to 8 in total
    out = dict(indices=idx)
    for name, cls, kw in (('knn', KNNMetric, dict(k=3, topk=(1,))),
                          ('ret', VideoRetrievalMetric, dict(topk=(1, 2)))):
        for size in (7, 8):
            metric = cls(**kw)
            metric.process(None, [dict(feat=feats[i], gt_label=labels[i],
                                       sample_idx=i) for i in idx])
            out[f'{name}_{size}'] = metric.evaluate(size)
    return out


def check_skip_stats(rank, paths):
    ds = UnlabeledVideoDataset(ann_file=paths['list'],
                               pipeline=paths['pipeline'])
    mine = paths['rank_indices'][rank]
    np.random.seed(rank)  # replacement draws
    for i in mine:
        ds[i]  # bad -> replaced by a good one
    before = sorted(torch.nonzero(ds.bad_mask).flatten().tolist())
    runner = types.SimpleNamespace(
        _train_loop=types.SimpleNamespace(
            dataloader=types.SimpleNamespace(dataset=ds)),
        message_hub=MessageHub.get_instance(f'skip_{rank}'), iter=0, epoch=0)
    hook = SkipStatsHook(interval=1, max_bad_fraction=None)
    n, events = hook.update(runner)
    out = dict(local_before=before, total=n, events=events,
               merged=sorted(torch.nonzero(ds.bad_mask).flatten().tolist()),
               logged=runner.message_hub.get_scalar(
                   'train/skipped_videos').current())
    try:
        SkipStatsHook(interval=1, max_bad_fraction=0.3).update(runner)
    except UnreadableVideosError as exc:
        out['stopped_with'] = sorted(p for p, _ in exc.failures)
    return out


def check_nonfinite(rank):
    runner = types.SimpleNamespace(
        iter=5, epoch=0, message_hub=MessageHub.get_instance(f'nf_{rank}'))
    loss = float('nan') if rank == 1 else 1.0
    try:
        NonFiniteLossHook().after_train_iter(
            runner, 5, None, dict(loss=torch.tensor(loss)))
    except FloatingPointError as exc:
        return str(exc)
    return None


def main(out, params):
    tdist.init_process_group('gloo')
    rank, world = tdist.get_rank(), tdist.get_world_size()
    with open(params) as f:
        paths = json.load(f)
    res = dict(rank=rank, world=world)
    res['queues'] = check_queues(rank)
    res['shuffle'] = check_shuffle(rank)
    res['syncbn'] = check_syncbn()
    res['metrics'] = check_metrics(rank, world)
    res['skip'] = check_skip_stats(rank, paths)
    res['nonfinite'] = check_nonfinite(rank)
    with open(f'{out}.rank{rank}.json', 'w') as f:
        json.dump(res, f, default=float)
    tdist.barrier()
    tdist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
