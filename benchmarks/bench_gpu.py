"""IIVCL and rho-MoCo training steps on one GPU (R3D-50 8x224^2), and MFU.

For each per-GPU batch (default 8, 16, 32 videos x rho 2 clips) and each
algorithm (IIVCL, ``configs/iivcl/r3d50_k400.py``; rho-MoCo, the same with
``configs/pmoco``'s ``lambda_intra`` / ``lambda_nn`` / ``head_nn``, so the NN
branch is neither built nor run): time per step, clips/s, peak memory, the
FLOPs of one step counted with ``torch.utils.flop_counter`` (2 FLOPs per
multiply-add, matmuls and convolutions, forward + backward), MFU = counted
FLOPs x steps/s / the device's dense bf16 peak (``--peak-tflops``
overrides the built-in table), and the IIVCL / rho-MoCo step ratio. Then the
NN lookup (IIVCL paper, Eq. 3) at batch 512 x queue 65536 on the device,
and the data preprocessor of the GPU-augmentation recipe
(``ClipAugmentPreprocessor``: colour jitter, grayscale and blur of every clip
on the device, parameters drawn by ``ClipAugment`` with the recipe's
probabilities) against the plain ``ActionDataPreprocessor``, per batch.

One step = what the runner does per iteration: the data preprocessor
(uint8 -> normalised float, on the device), the online encoder
forward/backward and the momentum encoder forward of all rho clips, the
heads and losses, the enqueue, an SGD step and the momentum update. Inputs
are synthetic uint8 clips already on the device (the loader's host-to-device
copy is not timed). bf16 autocast covers the forward pass (fp32 master
weights, no loss scaling); channels-last 3D converts the weights of both
backbones and the inputs, so cuDNN runs the convolutions in NDHWC.

The JSON (``--json``) is rewritten after every measurement, so a run cut
short by a time limit still leaves what it did.

    python benchmarks/bench_gpu.py --json gpu.json          # on a GPU
    python benchmarks/bench_gpu.py --no-amp --no-channels-last
    python benchmarks/bench_gpu.py --kornia  # + kornia aug timed on the GPU
    python benchmarks/bench_gpu.py --quick   # CPU smoke run (R3D-18, 32 px;
                                             # numbers meaningless)
"""
import argparse
import copy
import json
import logging
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
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

import mmiivcl  # noqa: E402,F401
from mmaction.registry import MODELS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

IIVCL_CONFIG = osp.join(REPO, 'configs', 'iivcl', 'r3d50_k400.py')
PMOCO_CONFIG = osp.join(REPO, 'configs', 'pmoco', 'r3d50_k400.py')
QUICK_CONFIG = osp.join(REPO, 'configs', 'iivcl', 'r3d18_k400_128px.py')

# dense (no sparsity) bf16 tensor-core peak, TFLOP/s (vendor data sheets)
PEAK_BF16_TFLOPS = {
    'H200': 989.4, 'H100 PCIe': 756.0, 'H100': 989.4, 'A100': 312.0,
    'L40S': 362.1, 'A10G': 70.0,
}


def peak_tflops(name: str) -> Optional[float]:
    for key, value in PEAK_BF16_TFLOPS.items():  # most specific first
        if key in name:
            return value
    return None


def model_cfgs(config: str, queue_len: Optional[int] = None
               ) -> Dict[str, dict]:
    """IIVCL (``config``) and the same with rho-MoCo's overrides."""
    iivcl = copy.deepcopy(Config.fromfile(config).model.to_dict())
    if queue_len:
        iivcl['queue_len'] = queue_len
    pm = Config.fromfile(PMOCO_CONFIG).model  # lambda_nn=0, head_nn=None
    pmoco = copy.deepcopy(iivcl)
    for key in ('lambda_intra', 'lambda_nn', 'head_nn'):
        pmoco[key] = pm[key]
    return {'IIVCL': iivcl, 'rho-MoCo': pmoco}


def make_data(batch: int, rho: int, frames: int, size: int, device: str,
              step: int = 0) -> dict:
    g = torch.Generator().manual_seed(step)
    inputs = [torch.randint(0, 256, (rho, 3, frames, size, size),
                            generator=g, dtype=torch.uint8).to(device)
              for _ in range(batch)]
    samples = [ActionDataSample(metainfo=dict(sample_idx=step * batch + i))
               for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


class Trainer:
    """One model + SGD; ``step(data)`` is one runner iteration."""

    def __init__(self, cfg: dict, args, lr: float) -> None:
        torch.manual_seed(0)
        self.model = MODELS.build(copy.deepcopy(cfg))
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights logs every tensor
        self.model.init_weights()
        logger.setLevel(level)
        self.model.to(args.device).train()
        self.channels_last = args.channels_last
        if args.channels_last:  # the 3D convolutions' weights (5-D tensors)
            for enc in (self.model.backbone,
                        self.model.momentum_encoder['backbone']):
                enc.to(memory_format=torch.channels_last_3d)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr,
                                   momentum=0.9, weight_decay=1e-4)
        self.amp = args.amp
        self.dev_type = 'cuda' if args.device.startswith('cuda') else 'cpu'

    def step(self, data: dict) -> torch.Tensor:
        model = self.model
        data = model.data_preprocessor(data, True)
        if self.channels_last:  # (N, rho, C, T, H, W): NDHWC per clip
            x = data['inputs']
            data['inputs'] = x.flatten(0, 1).contiguous(
                memory_format=torch.channels_last_3d).view(x.shape) \
                if x.dim() == 6 else x
        with torch.autocast(self.dev_type, dtype=torch.bfloat16,
                            enabled=self.amp):
            losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        model.momentum_update(0.994)
        return loss.detach()


def measure(trainer: Trainer, args, batch: int) -> Dict:
    """Time/step, clips/s, FLOPs, MFU, peak memory of one (model, batch)."""
    dev = args.device
    batches = [make_data(batch, args.rho, args.frames, args.size, dev, s)
               for s in range(2)]
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:  # counted once, outside the timing (also a warm-up)
        trainer.step(batches[0])
    flops = counter.get_total_flops()
    if args.flops_only:
        return dict(batch=batch, clips=batch * args.rho,
                    tflop_per_step=flops / 1e12,
                    gflop_per_video=flops / batch / 1e9,
                    by_op={str(k): v / batch / 1e9 for k, v in
                           counter.get_flop_counts()['Global'].items()})
    for s in range(args.warmup):
        trainer.step(batches[s % 2])
    sync(dev)
    if dev.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(args.steps):
        t0 = time.perf_counter()
        loss = trainer.step(batches[s % 2])
        sync(dev)
        times.append(time.perf_counter() - t0)
    dt = statistics.median(times)
    n_clips = batch * args.rho
    res = dict(batch=batch, clips=n_clips, step_s=dt, step_s_all=times,
               clips_per_s=n_clips / dt, videos_per_s=batch / dt,
               tflop_per_step=flops / 1e12,
               gflop_per_video=flops / batch / 1e9,
               achieved_tflops=flops / dt / 1e12, loss=float(loss))
    if args.peak:
        res['mfu'] = res['achieved_tflops'] / args.peak
    if dev.startswith('cuda'):
        res['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return res


def time_nn_lookup(args) -> Dict:
    """Eq. 3 as the model calls it, on the device: median ms."""
    from mmiivcl.models.losses import nearest_neighbour
    from mmiivcl.models.utils import FeatureQueue
    g = torch.Generator().manual_seed(0)
    key = F.normalize(torch.randn(args.nn_batch, 128, generator=g),
                      dim=1).to(args.device)
    queue = FeatureQueue(args.nn_queue, 128).to(args.device)
    queue.indices.fill_(0)  # all rows filled
    mask, bank = queue.valid_mask(), queue.feats
    for _ in range(3):
        nearest_neighbour(key, bank, mask)
    sync(args.device)
    ts = []
    for _ in range(args.nn_reps):
        t0 = time.perf_counter()
        nearest_neighbour(key, bank, mask)
        sync(args.device)
        ts.append(time.perf_counter() - t0)
    return dict(batch=args.nn_batch, queue=args.nn_queue,
                ms=1e3 * statistics.median(ts))


def time_gpu_aug(args) -> Dict[str, float]:
    """Preprocessor ms per batch (largest ``--batches``): plain
    normalisation vs ClipAugmentPreprocessor with recipe-drawn parameters."""
    import numpy as np
    from mmiivcl.datasets import ClipAugment
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    dev, batch = args.device, max(args.batches)
    aug = ClipAugment(crop_size=args.size, scale=(args.size, args.size),
                      defer_photometric=True)  # the recipe's probabilities
    np.random.seed(0)
    batches = []
    for s in range(2):
        data = make_data(batch, args.rho, args.frames, args.size, dev, s)
        blank = [np.zeros((args.size, args.size, 3), np.uint8)] * (
            args.rho * args.frames)
        for d in data['data_samples']:
            d.set_metainfo(dict(clip_aug_params=aug(dict(
                imgs=blank, clip_len=args.frames,
                num_clips=args.rho))['clip_aug_params']))
        batches.append(data)
    out = dict(batch=batch)
    pres = (('plain', dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                           mean=mean, std=std)),
            ('gpu_aug', dict(type='ClipAugmentPreprocessor', mean=mean,
                             std=std)))
    for name, cfg in pres:
        pre = MODELS.build(cfg).to(dev)
        for s in range(2):
            pre(batches[s % 2], True)
        sync(dev)
        ts = []
        for s in range(max(2, args.nn_reps)):
            t0 = time.perf_counter()
            pre(batches[s % 2], True)
            sync(dev)
            ts.append(time.perf_counter() - t0)
        out[name] = 1e3 * statistics.median(ts)
    out['gpu_aug_ms_per_video'] = (out['gpu_aug'] - out['plain']) / batch
    return out


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--config', default=IIVCL_CONFIG,
                   help='IIVCL config; rho-MoCo = it + configs/pmoco keys')
    p.add_argument('--algos', nargs='+', default=['IIVCL', 'rho-MoCo'],
                   choices=['IIVCL', 'rho-MoCo'],
                   help='algorithms to time, per batch')
    p.add_argument('--batches', type=int, nargs='+', default=[8, 16, 32],
                   help='videos per GPU (the config: 8); x rho clips')
    p.add_argument('--rho', type=int, default=2, help='clips per video')
    p.add_argument('--frames', type=int, default=8, help='frames per clip')
    p.add_argument('--size', type=int, default=224,
                   help='clip height and width in pixels (synthetic input)')
    p.add_argument('--steps', type=int, default=10,
                   help='timed steps per algorithm and batch (median taken)')
    p.add_argument('--warmup', type=int, default=3,
                   help='untimed steps first')
    p.add_argument('--device', default='cuda', help='torch device to run on')
    p.add_argument('--no-amp', dest='amp', action='store_false',
                   help='fp32 instead of bf16 autocast')
    p.add_argument('--no-channels-last', dest='channels_last',
                   action='store_false',
                   help='keep NCDHW (no channels-last 3D weights and inputs)')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help='dense bf16 peak TFLOP/s for the MFU; unset: the '
                   'built-in table by device name')
    p.add_argument('--nn-batch', type=int, default=512,
                   help='NN lookup: query batch')
    p.add_argument('--nn-queue', type=int, default=65536,
                   help='NN lookup: queue length')
    p.add_argument('--nn-reps', type=int, default=10,
                   help='NN lookup: timed repetitions (median taken)')
    p.add_argument('--kornia', action='store_true',
                   help='also time kornia photometric augmentation of the '
                   'batch in the data preprocessor (needs kornia)')
    p.add_argument('--flops-only', action='store_true',
                   help='count the FLOPs of one step per algorithm, no '
                   'timing (works on CPU: --device cpu --no-amp)')
    p.add_argument('--quick', action='store_true',
                   help='CPU smoke run: R3D-18, 4x32^2, batch 2, 1 step')
    p.add_argument('--json', help='write all numbers to this file '
                   '(rewritten after every measurement)')
    args = p.parse_args(argv)
    if args.quick:
        args.device, args.amp, args.config = 'cpu', False, QUICK_CONFIG
        args.frames, args.size, args.batches = 4, 32, [2]
        args.steps, args.warmup, args.kornia = 1, 0, False
        args.nn_batch, args.nn_queue, args.nn_reps = 64, 4096, 2
    dev = args.device
    if dev.startswith('cuda') and not torch.cuda.is_available():
        sys.exit('bench_gpu.py: no CUDA device (--quick for a CPU smoke '
                 'run, or --device cpu)')
    warnings.filterwarnings('ignore', message='shuffle-BN on a single')
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name() if dev.startswith('cuda') else 'cpu'
    args.peak = args.peak_tflops or peak_tflops(name)
    res = dict(device=name, torch=torch.__version__, args=vars(args),
               steps={}, ratio={})

    def dump():
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(res, f, indent=1)

    print(f"{name}: R3D {args.frames}x{args.size}^2, rho {args.rho}, "
          f"amp={'bf16' if args.amp else 'off'}, "
          f"channels_last_3d={args.channels_last}, peak "
          f"{args.peak or 'unknown'} TFLOP/s", flush=True)
    cfgs = model_cfgs(args.config)
    for batch in args.batches:
        lr = 0.4 * batch / 512
        for algo in args.algos:
            key = f'{algo}/b{batch}'
            try:
                tr = Trainer(cfgs[algo], args, lr)
                r = measure(tr, args, batch)
            except torch.cuda.OutOfMemoryError as e:  # noqa: PERF203
                r = dict(batch=batch, error=f'out of memory: {e}'[:300])
            finally:
                tr = None
                if dev.startswith('cuda'):
                    torch.cuda.empty_cache()
            res['steps'][key] = r
            if 'error' in r:
                print(f'  {key:14s} {r["error"][:80]}', flush=True)
            elif args.flops_only:
                print(f"  {key:14s} {r['gflop_per_video']:.1f} GFLOP per "
                      f"video ({args.rho} clips) per training step: "
                      + ', '.join(f'{k} {v:.1f}' for k, v in
                                  r['by_op'].items()), flush=True)
            else:
                print(f"  {key:14s} step {1e3 * r['step_s']:8.1f} ms | "
                      f"{r['clips_per_s']:7.1f} clips/s | "
                      f"{r['tflop_per_step']:7.3f} TFLOP/step | "
                      f"{r['achieved_tflops']:7.1f} TFLOP/s"
                      + (f" | MFU {100 * r['mfu']:5.1f}%"
                         if 'mfu' in r else '')
                      + (f" | peak mem {r['peak_mem_gib']:.1f} GiB"
                         if 'peak_mem_gib' in r else ''), flush=True)
            dump()
        a, b = (res['steps'].get(f'{k}/b{batch}', {})
                for k in ('IIVCL', 'rho-MoCo'))
        if 'step_s' in a and 'step_s' in b:
            res['ratio'][str(batch)] = a['step_s'] / b['step_s']
            dump()
    if args.flops_only:
        dump()
        return res
    res['nn_lookup'] = time_nn_lookup(args)
    print(f"  NN lookup batch {args.nn_batch} x queue {args.nn_queue}: "
          f"{res['nn_lookup']['ms']:.2f} ms", flush=True)
    dump()
    res['gpu_aug_ms_per_batch'] = a = time_gpu_aug(args)
    print(f"  ClipAugmentPreprocessor (deferred photometric aug) "
          f"{a['gpu_aug']:.1f} ms/batch of {a['batch']} vs plain "
          f"{a['plain']:.1f} ms: +{a['gpu_aug_ms_per_video']:.2f} ms per "
          'video', flush=True)
    dump()
    if args.kornia:
        res['kornia_ms_per_batch'] = time_kornia(args)
        k = res['kornia_ms_per_batch']
        print(f"  kornia photometric aug: {k['kornia']:.1f} ms/batch vs "
              f"plain preprocessor {k['plain']:.1f} ms/batch")
        dump()
    print('RATIOS ' + ' | '.join(
        f'step IIVCL/rho-MoCo @batch {b} = {r:.3f}'
        for b, r in res['ratio'].items()) + ' (target <= 1.03)')
    return res


def time_kornia(args) -> Dict[str, float]:
    """Data-preprocessor time per batch: plain vs kornia photometric aug."""
    from kornia_preprocessor import KorniaClipAugPreprocessor
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    dev, batch = args.device, args.batches[0]
    kpre = KorniaClipAugPreprocessor(
        aug=dict(crop_size=args.size), mean=mean, std=std,
        format_shape='NCTHW').to(dev)
    plain = MODELS.build(dict(type='ActionDataPreprocessor', mean=mean,
                              std=std, format_shape='NCTHW')).to(dev)
    batches = [make_data(batch, args.rho, args.frames, args.size, dev, s)
               for s in range(2)]
    out = {}
    for name, pre in (('plain', plain), ('kornia', kpre)):
        for s in range(3):
            pre(batches[s % 2], True)
        sync(dev)
        t0 = time.perf_counter()
        for s in range(10):
            pre(batches[s % 2], True)
        sync(dev)
        out[name] = 1e3 * (time.perf_counter() - t0) / 10
    return out


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
