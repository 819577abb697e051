"""GPU kit, section 5: torch SyncBN across 2 real ranks equals plain BN.

Two processes (``torch.multiprocessing``; NCCL when the machine has 2 GPUs,
else gloo on one GPU, which torch's SyncBN supports) each hold half of a
batch; ``nn.SyncBatchNorm`` in training mode must give, on every rank, the
rows and input gradients that one ``nn.BatchNorm3d`` gives on the whole
batch (the expectation: plain BN over the concatenation, computed in the
parent process), and the same running statistics. On a machine without CUDA
torch's SyncBN does not run (it refuses CPU tensors): the check is then
recorded as skipped with that reason and the exit status is 0.
"""
import argparse
import json
import os
import socket
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

C, N, T, H, W = 8, 4, 2, 6, 6


def batch() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2 * N, C, T, H, W, generator=g) * 3 + 1


def worker(rank: int, world: int, port: int, backend: str, dev: str,
           out: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group(backend, rank=rank, world_size=world)
    if dev.startswith('cuda'):
        dev = f'cuda:{rank % torch.cuda.device_count()}'
        torch.cuda.set_device(dev)
    bn = torch.nn.SyncBatchNorm(C).to(dev).train()
    x = batch()[rank * N:(rank + 1) * N].to(dev).requires_grad_()
    rec = {}
    try:
        y = bn(x)
        (y * torch.arange(y.numel(), device=dev).view_as(y).float()
         .div(y.numel())).sum().backward()
        rec = dict(y=y.detach().cpu().tolist(), grad=x.grad.cpu().tolist(),
                   mean=bn.running_mean.cpu().tolist(),
                   var=bn.running_var.cpu().tolist())
    except (ValueError, RuntimeError) as e:
        rec = dict(error=f'{type(e).__name__}: {e}'[:300])
    torch.save(rec, f'{out}.rank{rank}.pt')
    dist.destroy_process_group()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--json', required=True)
    args = p.parse_args()
    cuda = torch.cuda.is_available()
    dev = 'cuda' if cuda else 'cpu'
    backend = 'nccl' if cuda and torch.cuda.device_count() >= 2 else 'gloo'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix='syncbn_')
    out = os.path.join(tmp, 'rec')
    mp.spawn(worker, args=(2, port, backend, dev, out), nprocs=2)
    recs = [torch.load(f'{out}.rank{r}.pt') for r in range(2)]
    res = dict(backend=backend, device=dev, world=2)
    if any('error' in r for r in recs):
        err = next(r['error'] for r in recs if 'error' in r)
        if cuda:
            res.update(ok=False, error=err)
        else:
            res.update(ok=True, skipped='no CUDA: torch SyncBN runs on GPU '
                       'tensors only (' + err[:120] + ')')
    else:  # expectation: plain BN on the whole batch, in this process
        bn = torch.nn.BatchNorm3d(C).train()
        x = batch().requires_grad_()
        y = bn(x)
        w = torch.cat([torch.arange(N * C * T * H * W).float().div(
            N * C * T * H * W).view(N, C, T, H, W)] * 2)
        (y * w).sum().backward()
        errs = {}
        for r, rec in enumerate(recs):
            sl = slice(r * N, (r + 1) * N)
            errs[f'rank{r}'] = dict(
                y=(torch.tensor(rec['y']) - y[sl].detach()).abs().max().item(),
                grad=(torch.tensor(rec['grad']) - x.grad[sl]).abs().max()
                .item(),
                running_mean=(torch.tensor(rec['mean']) - bn.running_mean)
                .abs().max().item(),
                running_var=(torch.tensor(rec['var']) - bn.running_var)
                .abs().max().item())
        res['max_abs_err'] = errs
        res['ok'] = all(v < 1e-4 for e in errs.values() for v in e.values())
    print(json.dumps(res, indent=1))
    with open(args.json, 'w') as f:
        json.dump(res, f, indent=1)
    return 0 if res['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
