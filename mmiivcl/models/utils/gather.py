"""Distributed helpers that degrade to one process.

``concat_all_gather`` concatenates a tensor from every rank in rank order (no
gradient). ``batch_shuffle_ddp`` / ``batch_unshuffle_ddp`` implement MoCo's
shuffle-BN: the global batch is permuted with a permutation drawn on rank 0
and broadcast, each rank encodes its slice, and the unshuffle restores the
original order, so a key's BN statistics never come from its own query's
sub-batch.
"""
import warnings
from typing import Tuple

import torch
from mmengine import dist
from torch import Tensor

_warned_single = False


@torch.no_grad()
def concat_all_gather(x: Tensor) -> Tensor:
    """(n, ...) per rank -> (world_size * n, ...) in rank order."""
    if dist.get_world_size() == 1:
        return x
    return torch.cat(dist.all_gather(x.contiguous()), dim=0)


@torch.no_grad()
def batch_shuffle_ddp(x: Tensor, warn: bool = True) -> Tuple[Tensor, Tensor]:
    """Shuffle the global batch across ranks.

    Args:
        x (Tensor): (n, ...) this rank's batch (the same n on every rank).
        warn (bool): warn once when running on a single process, where the
            permutation alone leaves BN statistics unchanged (callers that
            encode the permuted batch in several BN groups pass False).

    Returns:
        tuple: this rank's (n, ...) slice of the shuffled global batch and the
        (world_size * n,) permutation needed to undo it.
    """
    global _warned_single
    world, rank = dist.get_world_size(), dist.get_rank()
    if world == 1 and warn and not _warned_single:
        _warned_single = True
        warnings.warn('shuffle-BN on a single process only permutes the '
                      'local batch, which leaves BN statistics unchanged; '
                      'use several processes, model.bn_groups > 1 (emulated '
                      'shuffle-BN) or SyncBN for its effect.')
    x_all = concat_all_gather(x)
    perm = torch.randperm(x_all.shape[0], device=x.device)
    if world > 1:
        dist.broadcast(perm, src=0)
    idx_unshuffle = torch.argsort(perm)
    n = x.shape[0]
    return x_all[perm[rank * n:(rank + 1) * n]], idx_unshuffle


@torch.no_grad()
def batch_unshuffle_ddp(x: Tensor, idx_unshuffle: Tensor) -> Tensor:
    """Undo :func:`batch_shuffle_ddp` for this rank's (n, ...) output."""
    rank, n = dist.get_rank(), x.shape[0]
    x_all = concat_all_gather(x)
    return x_all[idx_unshuffle[rank * n:(rank + 1) * n]]
