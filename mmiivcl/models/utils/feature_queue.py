"""A persistent, rank-synchronised FIFO queue of key embeddings.

Every piece of state lives in buffers (saved in checkpoints, restored on
resume): the keys, the video index of each key (-1 for a row never written)
and the write pointer. Keys are all-gathered before they are written, so every
rank holds the identical queue (mmaction2's ``SyncBuffersHook`` then averages
identical tensors, a no-op).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gather import concat_all_gather


class FeatureQueue(nn.Module):
    """FIFO queue of ``length`` L2-normalised ``dim``-d keys.

    Args:
        length (int): K, number of rows.
        dim (int): D, embedding width.

    Buffers:
        feats (K, D): the keys; random unit vectors until written.
        indices (K,) long: the video (dataset) index of each key, -1 if the
            row was never written.
        ptr (1,) long: the next row to write.

    Attributes:
        last_enqueued (int): keys the latest :meth:`enqueue` received (all
            ranks'; 0 before the first), a diagnostic and not state: more
            than ``length`` means one step overwrote its own keys.
    """

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        if length < 1 or dim < 1:
            raise ValueError(f'FeatureQueue needs length >= 1 and dim >= 1, '
                             f'got length={length}, dim={dim}')
        self.length, self.dim = int(length), int(dim)
        self.register_buffer('feats',
                             F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('indices',
                             torch.full((length,), -1, dtype=torch.long))
        self.register_buffer('ptr', torch.zeros(1, dtype=torch.long))
        self.last_enqueued = 0

    @property
    def filled(self) -> Tensor:
        """(K,) bool, True for rows that hold a real key."""
        return self.indices >= 0

    def valid_mask(self, video_idx: Optional[Tensor] = None,
                   require_filled: bool = True) -> Tensor:
        """Rows that may serve a query.

        Args:
            video_idx (Tensor, optional): (N,) video index of each query;
                rows holding a key of the same video are excluded.
            require_filled (bool): exclude rows never written (their random
                initial vectors are fine as MoCo negatives, never as a NN).

        Returns:
            Tensor: (K,) bool without ``video_idx``, else (N, K) bool.
        """
        base = self.filled if require_filled else torch.ones_like(self.filled)
        if video_idx is None:
            return base
        return base.unsqueeze(0) & (
            self.indices.unsqueeze(0) != video_idx.view(-1, 1))

    @torch.no_grad()
    def enqueue(self, keys: Tensor, video_idx: Tensor,
                gather: bool = True) -> None:
        """Write this step's keys (all ranks', in rank order) at the pointer.

        Args:
            keys (Tensor): (n, D) keys of this rank.
            video_idx (Tensor): (n,) long, the video of each key.
            gather (bool): all-gather across ranks first (default True).
        """
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f'keys must be (n, {self.dim}), got '
                             f'{tuple(keys.shape)}')
        if video_idx.shape != keys.shape[:1]:
            raise ValueError('video_idx must be (n,) like keys, got '
                             f'{tuple(video_idx.shape)}')
        video_idx = video_idx.to(device=keys.device, dtype=torch.long)
        if gather:
            keys = concat_all_gather(keys.detach())
            video_idx = concat_all_gather(video_idx)
        n = keys.shape[0]
        self.last_enqueued = int(n)  # PretrainConfigCheckHook reads it
        if n > self.length:  # only the newest K survive a full cycle
            keys, video_idx = keys[-self.length:], video_idx[-self.length:]
            start = (int(self.ptr) + n - self.length) % self.length
            n = self.length
        else:
            start = int(self.ptr)
        rows = (torch.arange(n, device=keys.device) + start) % self.length
        self.feats[rows] = keys.to(self.feats.dtype)
        self.indices[rows] = video_idx
        self.ptr[0] = (start + n) % self.length

    def extra_repr(self) -> str:
        return f'length={self.length}, dim={self.dim}'
