"""IIVCL training throughput on one GPU (R3D-50 8x224^2), and its MFU.

Not run yet: the issue-8 session had no GPU machine (see RESULTS.md). On a
GPU machine:

    .venv/bin/python benchmarks/bench_gpu.py          # bf16, channels-last 3D
    .venv/bin/python benchmarks/bench_gpu.py --no-amp --no-channels-last
    .venv/bin/python benchmarks/bench_gpu.py --kornia # + kornia aug on GPU

One step = what the runner does per iteration: the data preprocessor
(uint8 -> normalised float, on the GPU), the online encoder forward/backward
and the momentum encoder forward of all rho clips, both heads and losses
(Eq.5), the enqueue, an SGD step and the momentum update (Eq.6). Inputs are
synthetic uint8 clips already on the GPU (the loader's host-to-device copy is
not timed). bf16 autocast covers the forward pass (fp32 master weights, no
loss scaling needed); channels-last 3D converts the weights of both
backbones (online and momentum), so cuDNN runs the convolutions in NDHWC.

FLOPs per step are counted once with ``torch.utils.flop_counter``
(2 FLOPs per multiply-add, matmuls and convolutions, forward + backward);
MFU = counted FLOPs x steps/s / the device's dense bf16 peak
(``--peak-tflops`` overrides the built-in table).

CPU smoke run (checks the script, numbers meaningless):
    .venv/bin/python benchmarks/bench_gpu.py --device cpu --no-amp \\
        --config configs/iivcl/r3d18_k400_128px.py --size 32 --frames 4 \\
        --batch 2 --steps 1 --warmup 1
"""
import argparse
import copy
import json
import os.path as osp
import sys
import time
import warnings
from typing import Dict, List, Optional

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

import mmiivcl  # noqa: E402,F401
from mmaction.registry import MODELS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402

# dense (no sparsity) bf16 tensor-core peak, TFLOP/s
PEAK_BF16_TFLOPS = {
    'H200': 989.4, 'H100 PCIe': 756.0, 'H100': 989.4, 'A100': 312.0,
    'L40S': 362.1, 'A10G': 70.0,
}


def peak_tflops(name: str) -> Optional[float]:
    for key, value in PEAK_BF16_TFLOPS.items():  # most specific first
        if key in name:
            return value
    return None


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


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=osp.join(REPO, 'configs', 'iivcl',
                                                'r3d50_k400.py'))
    p.add_argument('--batch', type=int, default=8,
                   help='videos per GPU (the config: 8); x rho clips')
    p.add_argument('--rho', type=int, default=2)
    p.add_argument('--frames', type=int, default=8)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--device', default='cuda')
    p.add_argument('--no-amp', dest='amp', action='store_false',
                   help='fp32 instead of bf16 autocast')
    p.add_argument('--no-channels-last', dest='channels_last',
                   action='store_false')
    p.add_argument('--peak-tflops', type=float, default=None)
    p.add_argument('--kornia', action='store_true',
                   help='also time kornia photometric augmentation of the '
                   'batch in the data preprocessor (needs kornia)')
    p.add_argument('--json')
    args = p.parse_args(argv)
    dev = args.device
    if dev.startswith('cuda') and not torch.cuda.is_available():
        sys.exit('bench_gpu.py: no CUDA device (use --device cpu for a '
                 'smoke run)')
    warnings.filterwarnings('ignore', message='shuffle-BN on a single')
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    cfg = copy.deepcopy(Config.fromfile(args.config).model.to_dict())
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.to(dev).train()
    if args.channels_last:  # the 3D convolutions' weights (5-D tensors)
        for enc in (model.backbone, model.momentum_encoder['backbone']):
            enc.to(memory_format=torch.channels_last_3d)
    n_clips = args.batch * args.rho
    lr = 0.4 * args.batch / 512
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                          weight_decay=1e-4)
    amp_dtype = torch.bfloat16 if args.amp else None
    dev_type = 'cuda' if dev.startswith('cuda') else 'cpu'

    def step(data: dict) -> torch.Tensor:
        data = model.data_preprocessor(data, True)
        with torch.autocast(dev_type, dtype=amp_dtype or torch.float32,
                            enabled=args.amp):
            losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        model.momentum_update(0.994)
        return loss.detach()

    batches = [make_data(args.batch, args.rho, args.frames, args.size, dev, s)
               for s in range(2)]
    # FLOPs of one step (counted once, outside the timing)
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        step(batches[0])
    flops = counter.get_total_flops()
    for s in range(args.warmup):
        step(batches[s % 2])
    sync(dev)
    if dev_type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for s in range(args.steps):
        loss = step(batches[s % 2])
    sync(dev)
    dt = (time.perf_counter() - t0) / args.steps
    res = dict(device=(torch.cuda.get_device_name() if dev_type == 'cuda'
                       else 'cpu'), args=vars(args), step_s=dt,
               clips_per_s=n_clips / dt, videos_per_s=args.batch / dt,
               tflop_per_step=flops / 1e12, loss=float(loss))
    res['achieved_tflops'] = flops / dt / 1e12
    peak = args.peak_tflops or peak_tflops(res['device'])
    if peak:
        res['peak_tflops'] = peak
        res['mfu'] = res['achieved_tflops'] / peak
    if dev_type == 'cuda':
        res['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2**30
    if args.kornia:
        res['kornia_ms_per_batch'] = time_kornia(model, batches, args, dev)
    print(f"{res['device']}: {args.batch} videos x rho {args.rho} = "
          f"{n_clips} clips of {args.frames}x{args.size}^2 per step, "
          f"amp={'bf16' if args.amp else 'off'}, "
          f"channels_last_3d={args.channels_last}")
    print(f"  step {1e3 * dt:.1f} ms | {res['clips_per_s']:.1f} clips/s | "
          f"{res['tflop_per_step']:.2f} TFLOP/step | "
          f"{res['achieved_tflops']:.1f} TFLOP/s"
          + (f" | MFU {100 * res['mfu']:.1f}% of {peak:.0f}" if peak else '')
          + (f" | peak mem {res['peak_mem_gib']:.1f} GiB"
             if 'peak_mem_gib' in res else ''))
    if 'kornia_ms_per_batch' in res:
        k = res['kornia_ms_per_batch']
        print(f"  kornia photometric aug: {k['kornia']:.1f} ms/batch vs "
              f"plain preprocessor {k['plain']:.1f} ms/batch")
    print(f"RESULT clips/s={res['clips_per_s']:.1f} "
          f"MFU={100 * res.get('mfu', float('nan')):.1f}%")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
    return res


def time_kornia(model, batches, args, dev) -> Dict[str, float]:
    """Data-preprocessor time per batch: plain vs kornia photometric aug."""
    from kornia_preprocessor import KorniaClipAugPreprocessor
    kpre = KorniaClipAugPreprocessor(
        aug=dict(crop_size=args.size), mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW').to(dev)
    out = {}
    for name, pre in (('plain', model.data_preprocessor), ('kornia', kpre)):
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
    main()
