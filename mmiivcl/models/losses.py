"""Pure contrastive loss maths (no state, no distributed calls).

Notation follows the IIVCL paper (Sec. 3):

* Eq.1/2  ``info_nce``: InfoNCE of a query against one positive key and the
  negatives of a queue,
  ``L = -log exp(q.k+/tau) / (exp(q.k+/tau) + sum_{k- in Q} exp(q.k-/tau))``.
* Eq.3    ``nearest_neighbour``: ``NN(x, Q) = argmax_{z in Q} x.z``.
* Eq.4    ``nn_info_nce``: InfoNCE whose positive is the queue's nearest
  neighbour of the key and whose negatives are the queue *without* that
  neighbour, ``L_NN(z1, z2, Q) = InfoNCE(z1, NN(z2, Q), Q \\ {NN(z2, Q)})``.

All inputs are expected L2-normalised, so a dot product is a cosine
similarity. Gradients reach the query only: keys and queues are detached.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

NEG_INF = float('-inf')


def _expand_mask(mask: Optional[Tensor], n: int, k: int) -> Optional[Tensor]:
    """Validate a (K,) or (N, K) boolean *valid* mask and expand it to (N, K)."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f'mask must be a bool tensor, got {mask.dtype}')
    if mask.dim() == 1:
        mask = mask.unsqueeze(0)
    if mask.shape[-1] != k or mask.shape[0] not in (1, n):
        raise ValueError(f'mask of shape {tuple(mask.shape)} does not fit '
                         f'N={n} queries and K={k} queue rows')
    return mask.expand(n, k)


def contrastive_logits(query: Tensor, positive: Tensor, neg_sim: Tensor,
                       temperature: float) -> Tensor:
    """Logits ``[q.k+, q.k-_1 .. q.k-_K] / tau`` with the positive in column 0.

    Args:
        query (Tensor): (N, D) queries (carry gradient).
        positive (Tensor): (N, D) positives (detached inside).
        neg_sim (Tensor): (N, K) query-queue similarities; ``-inf`` entries
            are excluded from the denominator.
        temperature (float): tau > 0.

    Returns:
        Tensor: (N, 1 + K) logits.
    """
    pos = (query * positive.detach()).sum(dim=1, keepdim=True)
    return torch.cat([pos, neg_sim], dim=1) / temperature


def logits_loss(logits: Tensor) -> Tensor:
    """Cross-entropy with the positive in column 0, mean over rows (Eq.1)."""
    target = logits.new_zeros(logits.shape[0], dtype=torch.long)
    return F.cross_entropy(logits.float(), target)


def nearest_neighbour(key: Tensor, queue: Tensor,
                      mask: Optional[Tensor] = None
                      ) -> Tuple[Tensor, Tensor, Tensor]:
    """Eq.3: index of each key's most similar *valid* queue row.

    Args:
        key (Tensor): (N, D) keys.
        queue (Tensor): (K, D) queue.
        mask (Tensor, optional): (K,) or (N, K) bool, True where a queue row
            may serve as neighbour.

    Returns:
        tuple: ``(idx (N,) long, sim (N,) float, found (N,) bool)``. ``found``
        is False for rows without any valid candidate (then ``idx`` is
        meaningless and ``sim`` is ``-inf``).
    """
    with torch.no_grad():
        sim = key.detach() @ queue.detach().t()
        if _expand_mask(mask, key.shape[0], queue.shape[0]) is not None:
            # in place on the fresh (N, K) product, the mask broadcast as
            # given ((1, K) or (N, K)): no (N, K) copy, no expanded ~mask
            sim.masked_fill_(~(mask.view(1, -1) if mask.dim() == 1 else mask),
                             NEG_INF)
        best, idx = sim.max(dim=1)
        return idx, best, torch.isfinite(best)


def info_nce(query: Tensor, key: Tensor, queue: Tensor, temperature: float,
             *, mask: Optional[Tensor] = None) -> Tensor:
    """Eq.1/2 InfoNCE: positive ``key``, negatives ``queue``.

    Args:
        query (Tensor): (N, D), L2-normalised.
        key (Tensor): (N, D), L2-normalised positive of each query.
        queue (Tensor): (K, D), L2-normalised negatives.
        temperature (float): tau.
        mask (Tensor, optional): (K,) or (N, K) bool, True where a queue row
            may serve as a negative.

    Returns:
        Tensor: scalar, mean loss over the N rows.
    """
    neg = query @ queue.detach().t()
    m = _expand_mask(mask, query.shape[0], queue.shape[0])
    if m is not None:
        neg = neg.masked_fill(~m, NEG_INF)
    return logits_loss(contrastive_logits(query, key, neg, temperature))


def nn_info_nce(query: Tensor, key: Tensor, queue: Tensor, temperature: float,
                *, mask: Optional[Tensor] = None) -> Tensor:
    """Eq.3 + Eq.4: InfoNCE against the key's nearest neighbour in the queue.

    The positive of row n is ``queue[NN(key_n, queue)]``; that queue row is
    removed from row n's negatives. Rows where ``mask`` leaves no valid
    candidate fall back to the key itself as positive (an empty queue has no
    neighbour yet).

    Args:
        query (Tensor): (N, D), L2-normalised.
        key (Tensor): (N, D), L2-normalised, used only to find the neighbour.
        queue (Tensor): (K, D), L2-normalised.
        temperature (float): tau.
        mask (Tensor, optional): (K,) or (N, K) bool, True where a queue row
            may serve (as neighbour or negative).

    Returns:
        Tensor: scalar, mean loss over the N rows.
    """
    logits, _, _ = nn_info_nce_logits(query, key, queue, temperature, mask=mask)
    return logits_loss(logits)


def nn_info_nce_logits(query: Tensor, key: Tensor, queue: Tensor,
                       temperature: float, *, mask: Optional[Tensor] = None,
                       neg_sim: Optional[Tensor] = None,
                       nn: Optional[Tuple[Tensor, Tensor, Tensor]] = None
                       ) -> Tuple[Tensor, Tensor, Tensor]:
    """Logits of Eq.4, plus the neighbour indices and similarities.

    ``neg_sim`` ((N, K) ``query @ queue.T``) and ``nn`` (the output of
    :func:`nearest_neighbour` for ``key``) may be passed in when the caller
    already computed them (the model reuses them across clip pairs).

    Returns:
        tuple: ``(logits (N, 1 + K), nn_idx (N,), nn_sim (N,))``.
    """
    n, k = query.shape[0], queue.shape[0]
    if nn is None:
        nn = nearest_neighbour(key, queue, mask)
    idx, sim, found = nn
    if neg_sim is None:
        neg_sim = query @ queue.detach().t()
    m = _expand_mask(mask, n, k)
    m = torch.ones(n, k, dtype=torch.bool, device=query.device) if m is None \
        else m.clone()
    rows = torch.arange(n, device=query.device)
    m[rows[found], idx[found]] = False  # Q \ {NN}
    neg_sim = neg_sim.masked_fill(~m, NEG_INF)
    positive = torch.where(found.unsqueeze(1), queue.detach()[idx], key.detach())
    return contrastive_logits(query, positive, neg_sim, temperature), idx, sim
