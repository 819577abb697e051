"""VCLR: video contrastive learning with global context (VCLR paper, Sec. 3 and
Appendix A; docs/design.md#vclr-details-the-paper-leaves-out).

Per video the data pipeline (:class:`~mmiivcl.datasets.SampleSegmentTuple`,
:class:`~mmiivcl.datasets.ClipAugment`,
:class:`~mmiivcl.datasets.TemporalOrderShuffle`) gives ``2 K + 1``
independently augmented frames (or short clips, 3D variant)::

    [a_0 .. a_{K-1} | p_0 .. p_{K-1} | r]

``a`` is the anchor tuple and ``p`` the positive tuple (one frame per segment
each, possibly shuffled), ``r`` a second augmentation of the anchor frame of
the query segment ``s`` (first or last). ``metainfo['clip_segments']`` gives
the segment of every clip, ``metainfo['order_label']`` the shuffle label.

With f / f^m the online / momentum backbones (global average pooled), g_* /
g^m_* the online / momentum projection heads (2048-2048-128, L2-normalised)
and tau the temperature:

* video level: ``q = g_video(mean_k f(a_k))`` (the TSN consensus of the
  pooled features), ``k = g^m_video(mean_k f^m(p_k))``; InfoNCE against the
  video bank (MoCo form, Eq. 1 of the IIVCL paper).
* inter-frame (SeCo): ``q = g_inter(f(a_s))``; positives ``r`` and the other
  anchor frames ``a_j`` (j != s) through ``g^m_inter(f^m(.))``; one InfoNCE
  row per positive against the frame bank, rows averaged.
* intra-frame: ``q = g_intra(f(a_s))``; K - 1 two-way rows
  ``[q . k_r, q . k_{a_j}] / tau`` with the positive ``k_r`` first, i.e. the
  negatives are the other frames of the same video only (no bank).
* order: ``c([g_order(f(a_0..K-1)), g^m_order(f^m(p_0..K-1))])``, a linear
  classifier on the concatenated per-position order embeddings of both
  tuples (the positive tuple's from the momentum encoder), cross-entropy with
  the 4-way label.

``L = l_video L_video + l_inter L_inter + l_intra L_intra + l_order L_order``
(all weights 1 by default). A branch whose weight is 0 is neither built nor
run. After the losses, the frame bank receives the K key frames of every
video (``r`` and the other anchor frames, key-major) and the video bank the
video keys, all-gathered across ranks with their video indices.

Implementation notes (differences from the public code that leave the maths
unchanged): the online backbone encodes the anchor tuple once and the query
frame's features are taken from it (the public code runs the query frame
through the backbone a second time); the momentum encoder encodes all 2 K key
frames of a step in one shuffle-BN batch.
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import Tensor

from ..losses import contrastive_logits, logits_loss
from ..utils import FeatureQueue, backbone_width
from .base import BaseMomentumContrast, sample_indices

BRANCHES = ('video', 'inter', 'intra', 'order')


def _top1(logits: Tensor, target: Optional[Tensor] = None) -> Tensor:
    """Fraction of rows whose target (column 0 by default) wins."""
    pred = logits.argmax(dim=1)
    if target is None:
        return (pred == 0).float().mean()
    return (pred == target).float().mean()


def _meta(data_samples, key: str, hint: str) -> list:
    out = []
    for s in data_samples:
        v = s.metainfo.get(key, None)
        if v is None:
            raise KeyError(f'data sample has no "{key}": {hint}')
        out.append(v)
    return out


@MODELS.register_module()
class VCLR(BaseMomentumContrast):
    """Video contrastive learning with global context.

    Args:
        backbone (dict): mmaction2 backbone; ``ResNet`` depth 50 (2D) for the
            paper, a 3D backbone (e.g. ``ResNet3d`` depth 18) for the
            segment-clip variant.
        head_video (dict): video-level projection (on the consensus).
        head_inter (dict): inter-frame projection.
        head_intra (dict): intra-frame projection.
        head_order (dict): per-frame order projection.
        order_classifier (dict, optional): classifier on the 2 K order
            embeddings; default ``OrderClassifier(D_order, 2 K, 4)``.
        num_segments (int): K (3).
        lambda_video, lambda_inter, lambda_intra, lambda_order (float): loss
            weights (1.0 each).
        frame_queue_len (int): frame bank length (131072).
        video_queue_len (int): video bank length (131072).
        feat_dim (int): D of the video / inter / intra embeddings (128).
        temperature (float): tau (0.1) for all three contrastive losses.
        exclude_same_video (bool): mask bank rows that hold keys of the
            query's own video (small data sets, where the banks cover much of
            the data; docs/design.md#small-data-sets-and-the-demo).
        shuffle_bn (bool): shuffle-BN on the momentum encoder.
        bn_groups (int): emulated shuffle-BN within a process, see
            :class:`BaseMomentumContrast`.
    """

    def __init__(self,
                 backbone: dict,
                 head_video: Optional[dict] = None,
                 head_inter: Optional[dict] = None,
                 head_intra: Optional[dict] = None,
                 head_order: Optional[dict] = None,
                 order_classifier: Optional[dict] = None,
                 num_segments: int = 3,
                 lambda_video: float = 1.0,
                 lambda_inter: float = 1.0,
                 lambda_intra: float = 1.0,
                 lambda_order: float = 1.0,
                 frame_queue_len: int = 131072,
                 video_queue_len: int = 131072,
                 feat_dim: int = 128,
                 temperature: float = 0.1,
                 exclude_same_video: bool = False,
                 shuffle_bn: bool = True,
                 bn_groups: int = 1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        weights = dict(video=lambda_video, inter=lambda_inter,
                       intra=lambda_intra, order=lambda_order)
        heads = dict(video=head_video, inter=head_inter, intra=head_intra,
                     order=head_order)
        _check_args(weights, heads, num_segments, temperature,
                    frame_queue_len, video_queue_len)
        super().__init__(backbone, shuffle_bn=shuffle_bn, bn_groups=bn_groups,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.num_segments = int(num_segments)
        self.weights = {b: float(w) for b, w in weights.items()}
        self.temperature = float(temperature)
        self.exclude_same_video = bool(exclude_same_video)
        self.branches = [b for b in BRANCHES if weights[b] > 0]
        width = backbone_width(self.backbone)
        for b in self.branches:
            head = MODELS.build(heads[b])
            c_in = getattr(head, 'in_channels', None)
            if width is not None and c_in is not None and c_in != width:
                raise ValueError(
                    f'model.head_{b}.in_channels={c_in} but the backbone '
                    f'outputs {width} channels; set in_channels={width}.')
            out = getattr(head, 'out_channels', feat_dim)
            if b != 'order' and out != feat_dim:
                raise ValueError(
                    f'model.head_{b}.out_channels={out} differs from '
                    f'model.feat_dim={feat_dim}; make them equal.')
            setattr(self, f'head_{b}', head)
        if 'order' in self.branches:
            d = getattr(self.head_order, 'out_channels', feat_dim)
            cfg = dict(type='OrderClassifier', embed_dim=d,
                       num_positions=2 * self.num_segments, num_classes=4)
            cfg.update(order_classifier or {})
            self.order_classifier = MODELS.build(cfg)
            pos = getattr(self.order_classifier, 'num_positions',
                          2 * self.num_segments)
            if pos != 2 * self.num_segments:
                raise ValueError(
                    f'model.order_classifier.num_positions={pos} must be '
                    f'2 x num_segments = {2 * self.num_segments}.')
        if 'inter' in self.branches:
            self.queue_frame = FeatureQueue(frame_queue_len, feat_dim)
        if 'video' in self.branches:
            self.queue_video = FeatureQueue(video_queue_len, feat_dim)
        self._backbone_2d = self._is_2d()
        self._build_momentum_encoder([f'head_{b}' for b in self.branches])

    # ------------------------------------------------------------------
    def queue_demand(self, clips_per_video: Optional[int]
                     ) -> Dict[str, Tuple[int, str]]:
        """The frame bank gets K segment keys per video and step, the video
        bank one key (``clips_per_video`` is not needed)."""
        out = {}
        if hasattr(self, 'queue_frame'):
            out['queue_frame'] = (self.num_segments, 'model.frame_queue_len')
        if hasattr(self, 'queue_video'):
            out['queue_video'] = (1, 'model.video_queue_len')
        return out

    # ------------------------------------------------------------------
    # encoders
    def encode(self, x: Tensor, groups: Optional[Tensor] = None) -> Tensor:
        """Online backbone + pooling; a 2D backbone given clips
        (n, C, T, H, W) encodes every frame and averages over T. ``groups``
        (n,): BN groups of the rows (see ``bn_groups``)."""
        if self._backbone_2d and x.dim() == 5:
            n, t = x.shape[0], x.shape[2]
            if groups is not None:
                groups = groups.repeat_interleave(t)
            feat = super().encode(x.transpose(1, 2).flatten(0, 1), groups)
            return feat.view(n, t, -1).mean(dim=1)
        return super().encode(x, groups)

    def encode_clips(self, clips: Tensor) -> Tensor:
        """Online features of every clip: (N, M, C, T, H, W) -> (N, M, C);
        with ``bn_groups`` > 1 the clips of a video share a BN group."""
        n, m = clips.shape[:2]
        pos = torch.arange(n, device=clips.device).repeat_interleave(m)
        return self.encode(clips.flatten(0, 1),
                           self.video_groups(pos, n)).view(n, m, -1)

    @torch.no_grad()
    def encode_key_clips(self, clips: Tensor) -> Tensor:
        """Momentum features of every clip under shuffle-BN:
        (N, M, C, T, H, W) -> (N, M, C)."""
        n, m, _, t = clips.shape[:4]
        x = clips.flatten(0, 1)
        if self._backbone_2d:  # every frame is one image
            x = x.transpose(1, 2).flatten(0, 1)
            feat = self.encode_key(x, [])['feat'].view(n * m, t, -1)
            return feat.mean(dim=1).view(n, m, -1)
        return self.encode_key(x, [])['feat'].view(n, m, -1)

    @staticmethod
    def consensus(tuple_feats: Tensor) -> Tensor:
        """TSN consensus: mean of the per-segment pooled features,
        (N, K, C) -> (N, C) (before the video head)."""
        return tuple_feats.mean(dim=1)

    @staticmethod
    def _project(head, feats: Tensor) -> Tensor:
        """Apply a head to (N, M, C) features -> (N, M, D)."""
        n, m = feats.shape[:2]
        return head(feats.flatten(0, 1)).view(n, m, -1)

    # ------------------------------------------------------------------
    def _parse_inputs(self, inputs: Tensor) -> Tensor:
        k = self.num_segments
        if inputs.dim() == 5 and self._backbone_2d:  # NCHW frames
            inputs = inputs.unsqueeze(3)
        if inputs.dim() != 6 or inputs.shape[1] != 2 * k + 1:
            raise ValueError(
                f'VCLR expects (N, 2K+1={2 * k + 1}, C, T, H, W) inputs (the '
                'anchor tuple, the positive tuple and the re-augmented query '
                f'frame of SampleSegmentTuple), got {tuple(inputs.shape)}; '
                'check num_segments of the model and the pipeline.')
        return inputs

    def _query_positions(self, data_samples, n: int, device) -> tuple:
        """Positions of the query frame and of the other frames in the
        (shuffled) anchor tuple: ((N,), (N, K-1)), others sorted by segment.
        """
        k = self.num_segments
        segs = torch.as_tensor(
            [list(map(int, s)) for s in _meta(
                data_samples, 'clip_segments',
                'add "clip_segments" to PackActionInputs(meta_keys=...) '
                'after SampleSegmentTuple')],
            dtype=torch.long, device=device)
        if segs.shape != (n, 2 * k + 1):
            raise ValueError(f'clip_segments must have 2K+1={2 * k + 1} '
                             f'entries per sample, got {tuple(segs.shape)}')
        anchor, query = segs[:, :k], segs[:, 2 * k]
        ref = torch.arange(k, device=device)
        if not (anchor.sort(dim=1).values == ref).all() or \
                ((query < 0) | (query >= k)).any():
            raise ValueError('clip_segments: the anchor tuple must hold each '
                             f'of the {k} segments once, got {segs.tolist()}')
        is_q = anchor == query[:, None]
        q_pos = is_q.long().argmax(dim=1)
        by_seg = anchor.argsort(dim=1)  # positions sorted by segment
        keep = by_seg != q_pos[:, None]
        others = by_seg[keep].view(n, k - 1)
        return q_pos, others

    def _bank(self, queue: FeatureQueue, vid: Tensor):
        """Bank snapshot (K, D) and the (N, K) mask of rows that may serve
        as negatives (``None``: all). Rows never written hold random unit
        vectors and serve as negatives, as in MoCo."""
        bank = queue.feats.clone().detach()
        mask = None
        if self.exclude_same_video:
            mask = queue.indices.unsqueeze(0) != vid.view(-1, 1)
        return bank, mask

    def _neg(self, q: Tensor, bank: Tensor, mask: Optional[Tensor]) -> Tensor:
        neg = q @ bank.t()
        return neg if mask is None else neg.masked_fill(~mask, float('-inf'))

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """The four VCLR losses.

        Args:
            inputs (Tensor): (N, 2K+1, C, T, H, W) normalised clips (T = 1 for
                the 2D model; (N, 2K+1, C, H, W) is accepted too).
            data_samples (list[ActionDataSample]): metainfo ``sample_idx``,
                ``clip_segments`` and, with the order loss, ``order_label``.

        Returns:
            dict: weighted ``loss_{video,inter,intra,order}``; unweighted
            ``video_nce``, ``inter_nce``, ``intra_nce``, ``order_ce``; top-1
            accuracies ``acc_*`` (of the positive, or of the order label).
        """
        x = self._parse_inputs(inputs)
        n, k = x.shape[0], self.num_segments
        br = set(self.branches)
        vid = sample_indices(data_samples, x.device)
        rows = torch.arange(n, device=x.device)

        # online: the anchor tuple, once
        feat_a = self.encode_clips(x[:, :k])  # (N, K, C)
        # momentum: [r, a_j (j != s)] then the positive tuple, one batch
        key_parts, seco = [], br & {'inter', 'intra'}
        if seco:
            q_pos, others = self._query_positions(data_samples, n, x.device)
            feat_q = feat_a[rows, q_pos]  # (N, C)
            key_parts += [x[:, 2 * k:], x[:, :k][rows[:, None], others]]
        if br & {'video', 'order'}:
            key_parts.append(x[:, k:2 * k])
        feat_k = self.encode_key_clips(torch.cat(key_parts, dim=1))
        feat_seco = feat_k[:, :k] if seco else None  # (N, K, C), r first
        feat_p = feat_k[:, -k:] if br & {'video', 'order'} else None
        mom = self.momentum_encoder

        losses: Dict[str, Tensor] = {}
        tau = self.temperature

        def add(branch: str, raw: Tensor, acc: Tensor, raw_name: str):
            losses[f'loss_{branch}'] = self.weights[branch] * raw
            losses[raw_name] = raw.detach()
            losses[f'acc_{branch}'] = acc

        if 'video' in br:
            q = self.head_video(self.consensus(feat_a))
            with torch.no_grad():
                key_video = mom['head_video'](self.consensus(feat_p))
            bank, mask = self._bank(self.queue_video, vid)
            logits = contrastive_logits(q, key_video,
                                        self._neg(q, bank, mask), tau)
            add('video', logits_loss(logits), _top1(logits.detach()),
                'video_nce')
        if 'inter' in br:
            q = self.head_inter(feat_q)
            with torch.no_grad():
                key_inter = self._project(mom['head_inter'], feat_seco)
            bank, mask = self._bank(self.queue_frame, vid)
            neg = self._neg(q, bank, mask)
            total, acc = 0., 0.
            for j in range(k):  # one row per positive: r, then a_j
                logits = contrastive_logits(q, key_inter[:, j], neg, tau)
                total = total + logits_loss(logits)
                acc = acc + _top1(logits.detach())
            add('inter', total / k, acc / k, 'inter_nce')
        if 'intra' in br:
            q = self.head_intra(feat_q)
            with torch.no_grad():
                key_intra = self._project(mom['head_intra'], feat_seco)
            total, acc = 0., 0.
            for j in range(1, k):  # [same frame, other frame j] / tau
                neg = (q * key_intra[:, j]).sum(dim=1, keepdim=True)
                logits = contrastive_logits(q, key_intra[:, 0], neg, tau)
                total = total + logits_loss(logits)
                acc = acc + _top1(logits.detach())
            add('intra', total / (k - 1), acc / (k - 1), 'intra_nce')
        if 'order' in br:
            emb_a = self._project(self.head_order, feat_a)
            with torch.no_grad():
                emb_p = self._project(mom['head_order'], feat_p)
            logits = self.order_classifier(torch.cat([emb_a, emb_p], dim=1))
            label = torch.as_tensor(
                [int(v) for v in _meta(
                    data_samples, 'order_label',
                    'add TemporalOrderShuffle to the pipeline and '
                    '"order_label" to PackActionInputs(meta_keys=...), or '
                    'set model.lambda_order=0')],
                dtype=torch.long, device=x.device)
            add('order', F.cross_entropy(logits.float(), label),
                _top1(logits.detach(), label), 'order_ce')

        # enqueue after every loss used the banks
        if 'inter' in br:
            self.queue_frame.enqueue(key_inter.transpose(0, 1).flatten(0, 1),
                                     vid.repeat(k))
        if 'video' in br:
            self.queue_video.enqueue(key_video, vid)
        return losses


def _check_args(weights, heads, num_segments, temperature, frame_queue_len,
                video_queue_len) -> None:
    """Build-time validation; each message names the key and the fix."""
    for b, w in weights.items():
        if w < 0:
            raise ValueError(f'model.lambda_{b}={w} is negative; loss weights '
                             'must be >= 0 (paper default 1.0).')
        if w > 0 and heads[b] is None:
            raise ValueError(f'model.head_{b} is required when lambda_{b} > 0')
    if all(w == 0 for w in weights.values()):
        raise ValueError('model.lambda_video/inter/intra/order are all 0: '
                         'nothing would be learned. Set at least one > 0.')
    if int(num_segments) != num_segments or num_segments < 2:
        raise ValueError(f'model.num_segments={num_segments} must be an int '
                         '>= 2 (VCLR: 3).')
    if weights['order'] > 0 and num_segments < 3:
        raise ValueError(f'model.num_segments={num_segments}: the order task '
                         'needs >= 3 segments (2 have no shuffle other than '
                         'the identity and the reverse).')
    if temperature <= 0:
        raise ValueError(f'model.temperature={temperature} must be > 0 '
                         '(VCLR: 0.1).')
    for key, v in (('frame_queue_len', frame_queue_len),
                   ('video_queue_len', video_queue_len)):
        if v < 1:
            raise ValueError(f'model.{key}={v} must be >= 1 (VCLR: 131072).')
