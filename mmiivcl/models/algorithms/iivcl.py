"""IIVCL: Inter-Intra Video Contrastive Learning (IIVCL paper, Sec. 3).

Per video, rho clips x_1..x_rho (independently sampled and augmented) are
encoded by the online encoder f^q and the momentum encoder f^k. Two heads
project them: g^Intra (intra-video positives, Eq. 2) and g^NN (nearest-
neighbour positives from a queue, Eq. 3-4). The total loss (Eq. 5) is, at the
paper's scale, the *sum over query clips* i of the mean over the other clips
j != i of

    lambda_intra * L_intra(z_i^q, z_j^k, Q_intra)
  + lambda_nn    * L_NN(z_i^q, z_j^k, Q_NN)

with z^q = g(f^q(x)), z^k = g^m(f^k(x)) (g^m the momentum copy of the head).
At rho = 2 this is Algorithm 1's ``L(q1, k2) + L(q2, k1)``; for any rho it is
SlowFast rho-MoCo's objective (one backward per query clip, each averaged
over the other rho - 1 keys). Each L is the mean over the batch's videos.
SlowFast *logs* that sum divided by 2 * rho, so the logged ``loss_*`` here
read 2 * rho times SlowFast's printed loss. lambda = (1, 0) is rho-MoCo,
(0, 1) the video NNCLR analogue. A branch whose lambda is 0 is neither built
nor run.

After the loss, the keys of all rho clips of every video are enqueued
(clip-major) with their video indices: all-gathered across ranks first
(``gather_keys=True``, MoCo) or this rank's only (``False``, SlowFast
rho-MoCo). The NN is looked up *before* that enqueue.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmaction.registry import MODELS
from torch import Tensor

from ..losses import (contrastive_logits, logits_loss, nearest_neighbour,
                      nn_info_nce_logits)
from ..utils import FeatureQueue, backbone_width
from .base import BaseMomentumContrast, sample_indices


def _top1(logits: Tensor) -> Tensor:
    """Fraction of rows whose positive (column 0) has the largest logit."""
    return (logits.argmax(dim=1) == 0).float().mean()


@MODELS.register_module()
class IIVCL(BaseMomentumContrast):
    """Nearest-neighbour inter-intra contrastive learning.

    Args:
        backbone (dict): mmaction2 3D backbone (``ResNet3dSlowOnly`` R3D-50 8x8
            for the paper, ``ResNet3d`` depth 18 for R3D-18).
        head_intra (dict): g^Intra, e.g. ``ProjectionMLP(2048, 2048, 128, 3)``.
        head_nn (dict): g^NN, same form, separate weights.
        lambda_intra (float): weight of L_intra (Eq.5), paper 1.0.
        lambda_nn (float): weight of L_NN (Eq.5), paper 1.0.
        queue_len (int): length of each queue (paper 65536).
        feat_dim (int): embedding width D (128).
        temperature (float): tau of Eq.1 (0.1).
        exclude_same_video (bool): mask queue rows holding keys of the query's
            own video (for NN lookup and negatives). Needed when the queue
            spans a large part of a small data set
            (docs/design.md#small-data-sets-and-the-demo). Rows never
            written are never used by the NN branch; until the NN queue holds
            a valid row for a query, that row's positive is its own key.
        shuffle_bn (bool): shuffle-BN on the key encoder (False with SyncBN).
        bn_groups (int): emulated shuffle-BN within a process, see
            :class:`BaseMomentumContrast` (the CPU demo uses 2).
        mask_nn_in_intra (bool): Algorithm 1's ``intra_mask[nn_idx] = False``:
            for the pair (q_i, k_j), the queue rows chosen as nearest
            neighbours of the batch's keys k_j (Eq. 3, the union over the
            batch) are removed from the intra negatives of that pair. Needs
            the NN branch. The paper's text does not mention it and SlowFast
            has no NN branch; default False keeps the text's Eq. 2.
        gather_keys (bool): all-gather the keys across ranks before enqueue,
            so every rank holds the same queue (MoCo; default). False: each
            rank enqueues only its own keys (SlowFast rho-MoCo); the queues
            then differ per rank, :meth:`rank_local_buffers` names them so
            ``SyncBuffersExceptLocalHook`` leaves them alone, and a resumed
            run restores rank 0's queue on every rank (only rank 0 writes
            checkpoints).
    """

    def __init__(self,
                 backbone: dict,
                 head_intra: Optional[dict] = None,
                 head_nn: Optional[dict] = None,
                 lambda_intra: float = 1.0,
                 lambda_nn: float = 1.0,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 temperature: float = 0.1,
                 exclude_same_video: bool = False,
                 shuffle_bn: bool = True,
                 bn_groups: int = 1,
                 mask_nn_in_intra: bool = False,
                 gather_keys: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        _check_args(lambda_intra, lambda_nn, queue_len, temperature,
                    head_intra, head_nn)
        if mask_nn_in_intra and not (lambda_intra > 0 and lambda_nn > 0):
            raise ValueError(
                'model.mask_nn_in_intra=True needs both branches (the NN '
                'picks are masked out of the intra negatives); set '
                'lambda_intra > 0 and lambda_nn > 0 or mask_nn_in_intra=False.')
        super().__init__(backbone, shuffle_bn=shuffle_bn, bn_groups=bn_groups,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.lambda_intra = float(lambda_intra)
        self.lambda_nn = float(lambda_nn)
        self.temperature = float(temperature)
        self.exclude_same_video = exclude_same_video
        self.mask_nn_in_intra = bool(mask_nn_in_intra)
        self.gather_keys = bool(gather_keys)
        self.branches = [b for b, w in (('intra', lambda_intra),
                                        ('nn', lambda_nn)) if w > 0]
        for b in self.branches:
            head = MODELS.build(head_intra if b == 'intra' else head_nn)
            if getattr(head, 'out_channels', feat_dim) != feat_dim:
                raise ValueError(
                    f'model.head_{b}.out_channels={head.out_channels} differs '
                    f'from model.feat_dim={feat_dim}; make them equal.')
            setattr(self, f'head_{b}', head)
            setattr(self, f'queue_{b}', FeatureQueue(queue_len, feat_dim))
        self._check_head_width()
        self._build_momentum_encoder([f'head_{b}' for b in self.branches])
        # diagnostics for NNQueueStatsHook (plain attributes, not state):
        # filled only in a step after ``record_nn_picks(True)``
        self._record_nn = False
        self._nn_picks: Optional[Dict[str, Tensor]] = None

    def _check_head_width(self) -> None:
        width = backbone_width(self.backbone)
        for b in self.branches:
            head = getattr(self, f'head_{b}')
            c_in = getattr(head, 'in_channels', None)
            if width is not None and c_in is not None and c_in != width:
                raise ValueError(
                    f'model.head_{b}.in_channels={c_in} but the backbone '
                    f'outputs {width} channels; set in_channels={width}.')

    # ------------------------------------------------------------------
    # the interface hooks use
    #: Eq. 2 contrasts rho >= 2 clips of every video
    min_clips_per_video = 2

    def queue_demand(self, clips_per_video: Optional[int]
                     ) -> Dict[str, Tuple[int, str]]:
        """Each queue gets the rho key clips of every video per step."""
        if clips_per_video is None:
            return {}
        return {f'queue_{b}': (int(clips_per_video), 'model.queue_len')
                for b in self.branches}

    def record_nn_picks(self, enabled: bool) -> None:
        """Record (or stop recording) the NN positives of the next steps;
        :meth:`pop_nn_picks` returns the latest step's."""
        self._record_nn = bool(enabled)
        self._nn_picks = None

    def pop_nn_picks(self) -> Optional[Dict[str, Tensor]]:
        """The NN picks of the latest recorded step (then forgotten), or
        None: ``nn_video`` (video of each neighbour), ``found`` (whether a
        valid row existed), ``nn_sim`` and ``query_video``; see
        :func:`_nn_record`."""
        rec, self._nn_picks = self._nn_picks, None
        return rec

    def rank_local_buffers(self) -> List[str]:
        """Names of buffers that legitimately differ between ranks (the
        queues when ``gather_keys=False``); buffer-averaging hooks skip
        them."""
        if self.gather_keys:
            return []
        return [f'queue_{b}.{name}' for b in self.branches
                for name, _ in getattr(self, f'queue_{b}').named_buffers()]

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """Eq. 5 summed over query clips, averaged over their keys.

        Args:
            inputs (Tensor): (N, rho, C, T, H, W) normalised clips.
            data_samples (list[ActionDataSample]): with ``sample_idx`` in
                their metainfo (the video index enqueued beside each key).

        Returns:
            dict: weighted ``loss_intra`` / ``loss_nn`` (paper scale: sum over
            the rho query clips of the mean over their rho - 1 keys) plus the
            unweighted values at the same scale (``intra_nce``, ``nn_nce``),
            top-1 accuracies of the positive over all ordered pairs
            (``acc_intra``, ``acc_nn``), the mean NN similarity (``nn_sim``)
            and ``acc_batch`` (instance top-1 among this batch's keys, see
            :func:`_batch_top1`).
        """
        if inputs.dim() != 6 or inputs.shape[1] < 2:
            raise ValueError('IIVCL expects (N, rho, C, T, H, W) inputs with '
                             f'rho >= 2 clips, got {tuple(inputs.shape)}')
        n, rho = inputs.shape[:2]
        vid = sample_indices(data_samples, inputs.device)
        clips = inputs.transpose(0, 1).flatten(0, 1)  # (rho*N, ...) clip-major

        pos = torch.arange(n, device=inputs.device).repeat(rho)
        feat_q = self.encode(clips, self.video_groups(pos, n))
        keys = self.encode_key(clips, [f'head_{b}' for b in self.branches])
        pairs = [(i, j) for i in range(rho) for j in range(rho) if i != j]
        banks, masks = {}, {}
        for b in self.branches:
            queue: FeatureQueue = getattr(self, f'queue_{b}')
            banks[b] = queue.feats.clone().detach()
            # rows that may serve: never-filled rows cannot be a neighbour
            # (NN branch); keys of the query's own video are excluded on demand
            if self.exclude_same_video:
                masks[b] = queue.valid_mask(vid, require_filled=(b == 'nn'))
            else:
                masks[b] = queue.valid_mask() if b == 'nn' else None
        nns = None
        if 'nn' in self.branches:  # Eq. 3 before enqueue: once per key clip
            k_nn = keys['head_nn'].view(rho, n, -1)
            nns = [nearest_neighbour(k_nn[j], banks['nn'], masks['nn'])
                   for j in range(rho)]
            if self._record_nn:
                self._nn_picks = _nn_record(self.queue_nn, nns, vid)
        losses: Dict[str, Tensor] = {}
        for b in self.branches:
            q = getattr(self, f'head_{b}')(feat_q).view(rho, n, -1)
            k = keys[f'head_{b}'].view(rho, n, -1)
            bank, mask = banks[b], masks[b]
            # query-queue similarities: once per query clip, reused per pair
            neg = [q[i] @ bank.t() for i in range(rho)]
            if mask is not None:
                neg = [s.masked_fill(~mask, float('-inf')) for s in neg]
            drop = None
            if b == 'intra' and self.mask_nn_in_intra:
                drop = [_nn_rows(nns[j], bank.shape[0]) for j in range(rho)]
            per_query = [0.] * rho
            acc, sims = 0., []
            for i, j in pairs:
                if b == 'intra':
                    neg_ij = neg[i] if drop is None else neg[i].masked_fill(
                        drop[j], float('-inf'))
                    logits = contrastive_logits(q[i], k[j], neg_ij,
                                                self.temperature)
                else:
                    logits, _, sim = nn_info_nce_logits(
                        q[i], k[j], bank, self.temperature, mask=mask,
                        neg_sim=neg[i], nn=nns[j])
                    sims.append(sim[torch.isfinite(sim)])
                per_query[i] = per_query[i] + logits_loss(logits)
                acc = acc + _top1(logits.detach())
            # paper scale: sum over query clips of the mean over their keys
            raw = sum(per_query) / (rho - 1)
            if b == self.branches[0]:
                losses['acc_batch'] = _batch_top1(q, k, pairs)
            weight = self.lambda_intra if b == 'intra' else self.lambda_nn
            losses[f'loss_{b}'] = weight * raw
            losses[f'{b}_nce'] = raw.detach()
            losses[f'acc_{b}'] = acc / len(pairs)
            if b == 'nn':
                s = torch.cat(sims)
                losses['nn_sim'] = s.mean() if s.numel() else s.new_zeros(())
        # enqueue after the lookup: all rho clips, clip-major
        vid_all = vid.repeat(rho)
        for b in self.branches:
            getattr(self, f'queue_{b}').enqueue(keys[f'head_{b}'], vid_all,
                                               gather=self.gather_keys)
        return losses


def _nn_rows(nn: tuple, length: int) -> Tensor:
    """(K,) bool, True at the queue rows Eq. 3 picked for any key of the
    batch (Algorithm 1's ``intra_mask[nn_idx] = False`` as a drop mask)."""
    idx, _, found = nn
    rows = torch.zeros(length, dtype=torch.bool, device=idx.device)
    rows[idx[found]] = True
    return rows


@torch.no_grad()
def _batch_top1(q: Tensor, k: Tensor, pairs: List[tuple]) -> Tensor:
    """Health check, not part of the loss: how often a query's own key is
    the most similar among the keys of *this* batch, (rho, N, D) inputs,
    mean over the clip pairs (chance 1/N).

    The loss only contrasts the positive with queue rows encoded in earlier
    steps. A model can win that game by giving every key of the current step
    a shared signature (BN statistics of the batch, or a drift of the
    embedding from step to step) instead of telling videos apart; then
    ``acc_intra`` is high while ``acc_batch`` stays at chance.
    """
    target = torch.arange(q.shape[1], device=q.device)
    acc = [(q[i] @ k[j].t()).argmax(dim=1).eq(target).float().mean()
           for i, j in pairs]
    return torch.stack(acc).mean()


@torch.no_grad()
def _nn_record(queue: FeatureQueue, nns: List[tuple],
               vid: Tensor) -> Dict[str, Tensor]:
    """What Eq.3 picked in this step, for ``NNQueueStatsHook``.

    Read before the enqueue overwrites rows. One entry per key clip,
    clip-major (rho * N): ``nn_video`` the video index of the chosen queue
    row (-1 when no row could serve), ``nn_sim`` its similarity,
    ``found`` (bool) and ``query_video`` the key's own video index.
    """
    idx = torch.cat([n[0] for n in nns])
    found = torch.cat([n[2] for n in nns])
    nn_video = torch.where(found, queue.indices[idx], torch.full_like(idx, -1))
    return dict(nn_video=nn_video, nn_sim=torch.cat([n[1] for n in nns]),
                found=found, query_video=vid.repeat(len(nns)))


def _check_args(lambda_intra, lambda_nn, queue_len, temperature, head_intra,
                head_nn) -> None:
    """Build-time validation; each message names the key and the fix."""
    for key, v in (('lambda_intra', lambda_intra), ('lambda_nn', lambda_nn)):
        if v < 0:
            raise ValueError(f'model.{key}={v} is negative; loss weights must '
                             'be >= 0 (paper default 1.0).')
    if lambda_intra == 0 and lambda_nn == 0:
        raise ValueError('model.lambda_intra and model.lambda_nn are both 0: '
                         'nothing would be learned. Set at least one > 0.')
    if temperature <= 0:
        raise ValueError(f'model.temperature={temperature} must be > 0 '
                         '(paper: 0.1).')
    if queue_len < 1:
        raise ValueError(f'model.queue_len={queue_len} must be >= 1.')
    if lambda_intra > 0 and head_intra is None:
        raise ValueError('model.head_intra is required when lambda_intra > 0')
    if lambda_nn > 0 and head_nn is None:
        raise ValueError('model.head_nn is required when lambda_nn > 0')
