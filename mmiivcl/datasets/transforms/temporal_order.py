"""Temporal-order pretext task of VCLR (VCLR paper, Sec. 3).

Each of the two segment tuples (anchor, positive) is shuffled with
probability ``p``. A *shuffle* is a permutation of the K positions other than
the identity and the reverse (a reversed tuple still looks ordered, as in
O3N / the public VCLR code), so for K = 3 it is one of 4 permutations. The
4-way label records which tuples were shuffled, anchor tuple first:

    ==========  ========  =====
    anchor      positive  label
    ==========  ========  =====
    ordered     ordered   0  ("00")
    shuffled    ordered   1  ("10")
    ordered     shuffled  2  ("01")
    shuffled    shuffled  3  ("11")
    ==========  ========  =====

i.e. ``label = anchor_shuffled + 2 * positive_shuffled``.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

#: keys holding one entry per *frame* (grouped by ``clip_len``)
_PER_FRAME_KEYS = ('imgs', 'frame_inds')
#: keys holding one entry per *clip*
_PER_CLIP_KEYS = ('clip_starts', 'clip_segments', 'clip_aug_params')


def order_label(anchor_shuffled: bool, positive_shuffled: bool) -> int:
    """4-way label, anchor tuple first: {00: 0, 10: 1, 01: 2, 11: 3}."""
    return int(bool(anchor_shuffled)) + 2 * int(bool(positive_shuffled))


def is_trivial(perm: Sequence[int]) -> bool:
    """True for the identity and the reverse permutation."""
    perm = list(perm)
    ident = list(range(len(perm)))
    return perm == ident or perm == ident[::-1]


def draw_shuffle(k: int) -> np.ndarray:
    """A permutation of ``k`` positions, uniform over the non-trivial ones
    (rejection sampling; numpy's global generator)."""
    if k < 3:
        raise ValueError(f'no shuffle of {k} positions differs from both the '
                         'identity and the reverse; use num_segments >= 3')
    while True:
        perm = np.random.permutation(k)
        if not is_trivial(perm):
            return perm.astype(np.int64)


@TRANSFORMS.register_module()
class TemporalOrderShuffle(BaseTransform):
    """Shuffle the anchor and the positive tuple, each with probability ``p``.

    Works on the clip-major layout of :class:`SampleSegmentTuple`: clips
    ``0..K-1`` are the anchor tuple, clips ``K..2K-1`` the positive tuple;
    further clips (the query copy) are left in place. It may run before
    decoding (it then permutes ``frame_inds``) or after decoding and
    augmentation (it permutes ``imgs`` too); every per-clip key present is
    permuted consistently.

    A permutation ``perm`` of a tuple puts the clip at position ``perm[j]``
    into position ``j``.

    Required keys: ``num_segments`` (K), ``clip_len`` and at least one of
    ``imgs`` / ``frame_inds``.
    Modified keys: ``imgs``, ``frame_inds``, ``clip_starts``,
    ``clip_segments``, ``clip_aug_params`` (those present).
    Added keys: ``order_label`` (int in 0..3), ``order_perms`` int64 (2, K)
    (the permutation applied to the anchor and the positive tuple).

    Args:
        p: probability of shuffling each tuple (VCLR: 0.5), drawn
            independently for the two tuples, so each label has probability
            1/4 at ``p = 0.5``.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f'TemporalOrderShuffle: p must lie in [0, 1], '
                             f'got {p}')
        self.p = float(p)

    def transform(self, results: Dict) -> Dict:
        """Draw the shuffles and apply them; see the class docstring."""
        k = int(results['num_segments'])
        perms = []
        for _ in range(2):
            if np.random.rand() < self.p:
                perms.append(draw_shuffle(k))
            else:
                perms.append(np.arange(k, dtype=np.int64))
        return self.apply(results, perms[0], perms[1])

    @staticmethod
    def apply(results: Dict, anchor_perm: Sequence[int],
              positive_perm: Optional[Sequence[int]] = None) -> Dict:
        """Apply given permutations (identity or non-trivial) and label them.

        Raises:
            ValueError: a permutation is the reverse (not a valid shuffle), or
                not a permutation of ``range(K)``.
        """
        k = int(results['num_segments'])
        perms = []
        for name, perm in (('anchor', anchor_perm),
                           ('positive', positive_perm)):
            perm = np.arange(k) if perm is None else np.asarray(perm)
            if sorted(perm.tolist()) != list(range(k)):
                raise ValueError(f'TemporalOrderShuffle: {name} permutation '
                                 f'{perm.tolist()} is not a permutation of '
                                 f'range({k})')
            if k > 1 and perm.tolist() == list(range(k))[::-1]:
                raise ValueError(f'TemporalOrderShuffle: the reverse '
                                 f'{perm.tolist()} is not a shuffle')
            perms.append(perm.astype(np.int64))
        # clip order after shuffling: position j of tuple t takes clip
        # t * K + perm_t[j]
        clip_len = int(results['clip_len'])
        order = np.concatenate([perms[0], k + perms[1]])
        for key in _PER_FRAME_KEYS + _PER_CLIP_KEYS:
            if key not in results:
                continue
            value = results[key]
            per = clip_len if key in _PER_FRAME_KEYS else 1
            n_clips = len(value) // per
            if n_clips < 2 * k or len(value) % per:
                raise ValueError(
                    f'TemporalOrderShuffle: results[{key!r}] has '
                    f'{len(value)} entries, not {per} per clip for at least '
                    f'2 x num_segments = {2 * k} clips')
            full = np.concatenate([order, np.arange(2 * k, n_clips)])
            idx = (full[:, None] * per + np.arange(per)[None, :]).reshape(-1)
            if isinstance(value, np.ndarray):
                results[key] = value[idx]
            else:
                results[key] = [value[i] for i in idx]
        results['order_perms'] = np.stack(perms)
        results['order_label'] = order_label(
            not is_trivial(perms[0]), not is_trivial(perms[1]))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p})'
