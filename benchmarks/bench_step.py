"""Cost of the NN term: IIVCL vs rho-MoCo training steps, and NN lookup.

1. Full training step (data preprocessor, forward of the online and momentum
   encoders, both losses, backward, SGD step, momentum update) of IIVCL
   (lambda_intra = lambda_nn = 1) against the rho-MoCo config
   (``configs/pmoco``: lambda_nn = 0, ``head_nn=None``, so the NN branch is
   neither built nor run), same backbone, batch and queue. CPU default:
   R3D-18 (``configs/iivcl/r3d18_k400_128px.py``'s backbone) at 8x112^2,
   batch 8 videos x rho 2 clips, queues of 65536. Target ratio <= 1.03.
2. The head + queue + loss part alone, per step: the encoders' outputs are
   precomputed, so the time is that of the projection heads (online and
   momentum), the query-queue similarities, the NN lookup (IIVCL), both
   losses with their backward, and the enqueue; and the SGD step + momentum
   update alone. rho-MoCo's step plus IIVCL's extra in these two parts is
   the step ratio "by parts", which step-to-step noise does not blur.
3. NN lookup (Eq.3, ``mmiivcl.models.losses.nearest_neighbour`` with the
   queue's valid mask, as the model calls it) for queue lengths 4k..256k at
   batch 512 (expected linear in the queue length).

Both models are timed interleaved (A B A B ...) and medians are reported,
because the machine may be shared. Prints tables and a final RATIOS line.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_step.py
    (--quick for a smoke run; --json FILE to keep the numbers)
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

import mmiivcl  # noqa: E402,F401
from mmaction.registry import MODELS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402

from mmiivcl.models.losses import nearest_neighbour  # noqa: E402
from mmiivcl.models.utils import FeatureQueue  # noqa: E402

R3D18_CONFIG = osp.join(REPO, 'configs', 'iivcl', 'r3d18_k400_128px.py')
PMOCO_CONFIG = osp.join(REPO, 'configs', 'pmoco', 'r3d50_k400.py')


def model_cfgs(queue_len: int) -> Dict[str, dict]:
    """IIVCL (R3D-18 config) and the same with rho-MoCo's overrides."""
    iivcl = copy.deepcopy(Config.fromfile(R3D18_CONFIG).model.to_dict())
    iivcl['queue_len'] = queue_len
    pm = Config.fromfile(PMOCO_CONFIG).model  # lambda_nn=0, head_nn=None
    pmoco = copy.deepcopy(iivcl)
    for key in ('lambda_intra', 'lambda_nn', 'head_nn'):
        pmoco[key] = pm[key]
    return {'IIVCL': iivcl, 'rho-MoCo': pmoco}


def build(cfg: dict):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    model.train()
    return model


def make_batch(n: int, rho: int, t: int, size: int, step: int) -> dict:
    g = torch.Generator().manual_seed(step)
    inputs = [torch.randint(0, 256, (rho, 3, t, size, size), generator=g,
                            dtype=torch.uint8) for _ in range(n)]
    samples = [ActionDataSample(metainfo=dict(sample_idx=step * n + i))
               for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def train_step(model, optim: OptimWrapper, data: dict) -> None:
    """What one iteration of the runner does (+ MomentumUpdateHook)."""
    model.train_step(data, optim)
    model.momentum_update(0.994)


def time_steps(models: Dict, optims: Dict, args) -> Dict[str, List[tuple]]:
    """(wall s, CPU s) per timed step and model."""
    times = {k: [] for k in models}
    for k in models:  # warm-up (allocator, first-call overheads)
        for s in range(args.warmup):
            train_step(models[k], optims[k],
                       make_batch(args.batch, 2, args.frames, args.size, s))
    for r in range(args.steps):
        data = make_batch(args.batch, 2, args.frames, args.size, 100 + r)
        for k in models:  # interleaved
            t0, c0 = time.perf_counter(), time.process_time()
            train_step(models[k], optims[k], data)
            times[k].append((time.perf_counter() - t0,
                             time.process_time() - c0))
    return times


def time_head_queue_loss(models: Dict, args) -> Dict[str, List[tuple]]:
    """Heads + queue + loss (+ backward, enqueue), fixed encoder outputs."""
    rho, n = 2, args.batch
    times = {k: [] for k in models}
    for k, model in models.items():
        width = model.head_intra.in_channels
        g = torch.Generator().manual_seed(0)
        feat_q = torch.randn(rho * n, width, generator=g, requires_grad=True)
        feat_k = torch.randn(rho * n, width, generator=g)

        def encode(x, groups=None, _f=feat_q):  # same signature as
            return _f                            # BaseMomentumAlgorithm's

        def encode_key(x, heads, _m=model, _f=feat_k):
            with torch.no_grad():
                out = {'feat': _f}
                for h in heads:
                    out[h] = _m.momentum_encoder[h](_f)
            return out

        model.encode, model.encode_key = encode, encode_key
    dummy = torch.zeros(n, rho, 1, 1, 1, 1)
    samples = [ActionDataSample(metainfo=dict(sample_idx=i)) for i in range(n)]
    for r in range(args.warmup + args.hql_steps):
        for k, model in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            losses = model.loss(dummy, samples)
            total = sum(v for key, v in losses.items() if 'loss' in key)
            total.backward()
            dt = (time.perf_counter() - t0, time.process_time() - c0)
            if r >= args.warmup:
                times[k].append(dt)
            model.zero_grad(set_to_none=True)
    for model in models.values():  # restore the real encoders
        del model.encode, model.encode_key
    return times


def time_update(models: Dict, optims: Dict, args) -> Dict[str, List[tuple]]:
    """SGD step + momentum update (Eq.6) alone, gradients already set."""
    times = {k: [] for k in models}
    for m in models.values():
        for prm in m.parameters():
            if prm.requires_grad:
                prm.grad = torch.full_like(prm, 1e-6)
    for r in range(args.warmup + args.hql_steps):
        for k, m in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            optims[k].step()
            m.momentum_update(0.994)
            if r >= args.warmup:
                times[k].append((time.perf_counter() - t0,
                                 time.process_time() - c0))
    for m in models.values():
        m.zero_grad(set_to_none=True)
    return times


def time_nn_lookup(args, cpu: Optional[Dict[int, float]] = None
                   ) -> Dict[int, float]:
    """Median wall seconds per queue length (CPU seconds into ``cpu``)."""
    out = {}
    cpu = {} if cpu is None else cpu
    g = torch.Generator().manual_seed(0)
    key = F.normalize(torch.randn(args.nn_batch, 128, generator=g), dim=1)
    for k in args.nn_queue:
        queue = FeatureQueue(k, 128)
        queue.indices.fill_(0)  # all rows filled
        mask = queue.valid_mask()
        bank = queue.feats
        nearest_neighbour(key, bank, mask)  # warm-up
        ts, cs = [], []
        for _ in range(args.nn_reps):
            t0, c0 = time.perf_counter(), time.process_time()
            nearest_neighbour(key, bank, mask)
            ts.append(time.perf_counter() - t0)
            cs.append(time.process_time() - c0)
        out[k] = statistics.median(ts)
        cpu[k] = statistics.median(cs)
        print(f'  NN lookup K={k:6d}: {1e3 * out[k]:8.2f} ms '
              f'({1e3 * cpu[k]:8.2f} ms CPU)', flush=True)
        del queue, bank, mask
    return out


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--batch', type=int, default=8, help='videos per step')
    p.add_argument('--frames', type=int, default=8, help='frames per clip')
    p.add_argument('--size', type=int, default=112,
                   help='clip height and width in pixels (synthetic input)')
    p.add_argument('--queue', type=int, default=65536,
                   help='queue length of both models')
    p.add_argument('--steps', type=int, default=6,
                   help='timed steps per model (interleaved)')
    p.add_argument('--warmup', type=int, default=1,
                   help='untimed steps first, per model and part')
    p.add_argument('--hql-steps', type=int, default=20,
                   help='timed steps of the head + queue + loss part and of '
                   'the SGD + momentum update part')
    p.add_argument('--nn-batch', type=int, default=512,
                   help='NN lookup: query batch')
    p.add_argument('--nn-queue', type=int, nargs='+',
                   default=[4096, 8192, 16384, 32768, 65536, 131072, 262144],
                   help='NN lookup: queue lengths')
    p.add_argument('--nn-reps', type=int, default=7,
                   help='NN lookup: timed repetitions per queue length')
    p.add_argument('--threads', type=int,
                   default=int(os.environ.get('OMP_NUM_THREADS', 1)),
                   help='torch threads (1 on a shared 2-core machine: with '
                   '2, a busy second core stalls every parallel region)')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: tiny input, few steps')
    p.add_argument('--nn-only', action='store_true',
                   help='only the NN lookup (3.), no model')
    p.add_argument('--json', help='write all numbers to this file')
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.frames, args.steps, args.hql_steps = 32, 4, 1, 3
        args.nn_queue, args.nn_reps = [4096, 8192], 2
    torch.set_num_threads(args.threads)
    if args.nn_only:
        print(f'{os.cpu_count()} CPUs, load average at start '
              '%.2f %.2f %.2f' % os.getloadavg())
        cpu: Dict[int, float] = {}
        nn = time_nn_lookup(args, cpu)
        res = dict(args=vars(args), nn_ms={str(k): 1e3 * v
                                            for k, v in nn.items()},
                   nn_cpu_ms={str(k): 1e3 * v for k, v in cpu.items()},
                   loadavg_end=os.getloadavg())
        print('load average at end %.2f %.2f %.2f' % res['loadavg_end'])
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(res, f, indent=1)
        return res
    warnings.filterwarnings('ignore', message='shuffle-BN on a single')
    cfgs = model_cfgs(args.queue)
    models = {k: build(c) for k, c in cfgs.items()}
    optims = {k: OptimWrapper(torch.optim.SGD(m.parameters(), lr=0.01,
                                              momentum=0.9,
                                              weight_decay=1e-4))
              for k, m in models.items()}
    print(f'torch threads {args.threads}; R3D-18 {args.frames}x{args.size}^2, '
          f'batch {args.batch} x rho 2, queue {args.queue}')
    for k, m in models.items():
        print(f'  {k:9s}: branches {m.branches}, '
              f'{sum(p.numel() for p in m.parameters()) / 1e6:.2f} M params')
    res = dict(args=vars(args), loadavg_start=os.getloadavg())
    print(f'{os.cpu_count()} CPUs, load average at start '
          '%.2f %.2f %.2f' % os.getloadavg())
    steps = time_steps(models, optims, args)
    upd = time_update(models, optims, args)
    hql = time_head_queue_loss(models, args)
    res['step_s'] = {k: dict(median=statistics.median(w for w, _ in v),
                             cpu=statistics.median(c for _, c in v), runs=v)
                     for k, v in steps.items()}
    res['hql_ms'] = {k: dict(median=1e3 * statistics.median(w for w, _ in v),
                             cpu=1e3 * statistics.median(c for _, c in v),
                             runs=[(1e3 * w, 1e3 * c) for w, c in v])
                     for k, v in hql.items()}
    res['update_ms'] = {k: dict(median=1e3 * statistics.median(
        w for w, _ in v), cpu=1e3 * statistics.median(c for _, c in v))
        for k, v in upd.items()}
    print('\nmedians, wall (CPU):   training step          '
          'head+queue+loss alone      SGD + momentum update')
    for k in models:
        st, hq, up = res['step_s'][k], res['hql_ms'][k], res['update_ms'][k]
        print(f'  {k:9s} {st["median"]:8.3f} s ({st["cpu"]:7.3f} s)   '
              f'{hq["median"]:8.2f} ms ({hq["cpu"]:8.2f} ms)   '
              f'{up["median"]:8.2f} ms ({up["cpu"]:8.2f} ms)')
    del models, optims
    nn_cpu: Dict[int, float] = {}
    nn = time_nn_lookup(args, nn_cpu)
    res['nn_ms'] = {str(k): 1e3 * v for k, v in nn.items()}
    res['nn_cpu_ms'] = {str(k): 1e3 * v for k, v in nn_cpu.items()}
    ks = sorted(nn)
    per_k = [1e3 * nn[k] / k * 65536 for k in ks]
    print('\nNN lookup at batch %d (ms): ' % args.nn_batch + ', '.join(
        f'{k // 1024}k {1e3 * nn[k]:.1f}' for k in ks))
    print('  ms per 64k rows at each K: ' + ', '.join(f'{x:.1f}'
                                                       for x in per_k))
    res['loadavg_end'] = os.getloadavg()
    print('load average at end %.2f %.2f %.2f' % res['loadavg_end'])
    step_ratio = (res['step_s']['IIVCL']['median']
                  / res['step_s']['rho-MoCo']['median'])
    step_ratio_cpu = (res['step_s']['IIVCL']['cpu']
                      / res['step_s']['rho-MoCo']['cpu'])
    hql_extra = (res['hql_ms']['IIVCL']['median']
                 - res['hql_ms']['rho-MoCo']['median'])
    at = nn.get(65536)
    hq_i, hq_p = res['hql_ms']['IIVCL'], res['hql_ms']['rho-MoCo']
    step_p = res['step_s']['rho-MoCo']
    parts = [f'step IIVCL/rho-MoCo = {step_ratio:.3f} wall, '
             f'{step_ratio_cpu:.3f} CPU (target <= 1.03)',
             f'head+queue+loss IIVCL/rho-MoCo = '
             f'{hq_i["median"] / hq_p["median"]:.2f}x '
             f'(+{hql_extra:.1f} ms = '
             f'{100 * hql_extra / 1e3 / step_p["median"]:.1f}% '
             f'of a rho-MoCo step; CPU '
             f'+{hq_i["cpu"] - hq_p["cpu"]:.1f} ms = '
             f'{0.1 * (hq_i["cpu"] - hq_p["cpu"]) / step_p["cpu"]:.1f}%)',
             f'NN lookup {ks[-1] // 1024}k/{ks[0] // 1024}k = '
             f'{nn[ks[-1]] / nn[ks[0]]:.1f}x for {ks[-1] // ks[0]}x rows']
    extra = hql_extra + (res['update_ms']['IIVCL']['median']
                         - res['update_ms']['rho-MoCo']['median'])
    parts.insert(1, f'step by parts = '
                 f'{1 + extra / 1e3 / step_p["median"]:.3f} (rho-MoCo step '
                 f'+ the NN branch\'s head/queue/loss and update time)')
    if at is not None:
        parts.append(f'NN lookup {args.nn_batch} x 65536 = {1e3 * at:.1f} ms '
                     f'({1e3 * nn_cpu[65536]:.1f} ms CPU)')
    res['ratios'] = parts
    print('RATIOS ' + ' | '.join(parts))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == '__main__':
    main()
