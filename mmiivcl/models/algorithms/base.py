"""Shared machinery of momentum-contrast video algorithms (IIVCL, VCLR).

* the online encoder ``backbone`` (an unmodified mmaction2 backbone, so a
  checkpoint's ``backbone.*`` keys load into mmaction2 recognizers),
* online projection heads named by the subclass,
* ``momentum_encoder``: momentum copies of the backbone *and* those heads
  (MoCo convention), updated by :meth:`momentum_update` (called by
  :class:`~mmiivcl.engine.hooks.MomentumUpdateHook`),
* key encoding under shuffle-BN (or plain, with SyncBN),
* feature extraction for evaluation (``mode='tensor'`` / ``'predict'``).

State contract: every piece of algorithm state is a parameter or buffer, so
``state_dict`` holds the momentum encoder and the queues, and a resumed run
continues exactly.
"""
import copy
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModel
from torch import Tensor, nn

from ..utils import batch_shuffle_ddp, batch_unshuffle_ddp


def _has_sync_bn(module: nn.Module) -> bool:
    return any(isinstance(m, nn.SyncBatchNorm) or 'SyncBatchNorm' in
               type(m).__name__ for m in module.modules())


class BaseMomentumContrast(BaseModel):
    """Base of the momentum-contrast algorithms.

    Args:
        backbone (dict): mmaction2 backbone config.
        head_names (Sequence[str]): attributes holding online heads that get a
            momentum copy (set by the subclass, after building them it calls
            :meth:`_build_momentum_encoder`).
        shuffle_bn (bool): shuffle-BN for the key encoder. Must be False when
            the backbone uses SyncBN (then BN statistics are global anyway).
        bn_groups (int): emulated shuffle-BN inside one process
        (docs/design.md#shuffle-bn-on-one-process):
            in training, each rank's batch is encoded in this many BN groups,
            as if it ran on that many more GPUs. The online encoder groups
            whole videos (all clips of a video in one group), the momentum
            encoder encodes random groups of the shuffled batch, so a key's
            BN statistics come from other samples than its query's. Without
            it a single process leaks batch statistics: queue negatives were
            encoded in other batches, so the positive can be told apart by
            the batch's BN signature alone. (A fast-moving key encoder gives
            a second such signature, step-to-step drift, which groups do not
            remove: watch ``acc_batch``.) 1 = off (multi-GPU shuffle-BN).
        data_preprocessor (dict, optional): defaults to mmaction2's
            ``ActionDataPreprocessor`` with ImageNet mean/std, NCTHW.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 shuffle_bn: bool = True,
                 bn_groups: int = 1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if int(bn_groups) != bn_groups or bn_groups < 1:
            raise ValueError(f'model.bn_groups={bn_groups} must be an integer '
                             '>= 1 (1 = one BN batch per rank).')
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                format_shape='NCTHW')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        norm_cfg = backbone.get('norm_cfg') or {}
        sync = 'Sync' in str(norm_cfg.get('type', '')) or _has_sync_bn(
            self.backbone)
        if shuffle_bn and sync:
            raise ValueError(
                'model.shuffle_bn=True with a SyncBN backbone: SyncBN already '
                'computes global BN statistics. Set model.shuffle_bn=False '
                'when using norm_cfg=dict(type="SyncBN").')
        if bn_groups > 1 and sync:
            raise ValueError(
                f'model.bn_groups={bn_groups} with a SyncBN backbone: SyncBN '
                'statistics are global, groups cannot split them. Set '
                'model.bn_groups=1 or use plain BN.')
        self.shuffle_bn = shuffle_bn
        self.bn_groups = int(bn_groups)
        self._head_names: List[str] = []
        self.momentum_encoder: Optional[nn.ModuleDict] = None

    # ------------------------------------------------------------------
    # momentum encoder
    def _build_momentum_encoder(self, head_names: Sequence[str]) -> None:
        """Deep-copy ``backbone`` and the named heads into a gradient-free
        ``momentum_encoder`` (re-synchronised in :meth:`init_weights`)."""
        self._head_names = list(head_names)
        enc = nn.ModuleDict({'backbone': copy.deepcopy(self.backbone)})
        for name in self._head_names:
            enc[name] = copy.deepcopy(getattr(self, name))
        enc.requires_grad_(False)
        self.momentum_encoder = enc

    # ------------------------------------------------------------------
    # the interface hooks use (PretrainConfigCheckHook, NNQueueStatsHook)
    @property
    def head_names(self) -> List[str]:
        """The heads that have a momentum copy (their ``in_channels`` must
        equal the backbone's output width)."""
        return list(self._head_names)

    #: clips per video the objective contrasts at least (1: no constraint)
    min_clips_per_video: int = 1

    def queue_demand(self, clips_per_video: Optional[int]
                     ) -> Dict[str, Tuple[int, str]]:
        """Queue module name -> (keys each video enqueues per step, the
        config key of that queue's length); ``clips_per_video`` is the train
        pipeline's clip count (None when unknown). Models whose enqueue rule
        is not declared here return {} and are measured at the first step."""
        return {}

    def _online_modules(self) -> Dict[str, nn.Module]:
        out = {'backbone': self.backbone}
        out.update({n: getattr(self, n) for n in self._head_names})
        return out

    def init_weights(self) -> None:
        """Initialise online weights, then copy them into the momentum
        encoder (so the key encoder starts equal to the query encoder)."""
        super().init_weights()
        self.sync_momentum_encoder()

    @torch.no_grad()
    def sync_momentum_encoder(self) -> None:
        """Copy online parameters and buffers into the momentum encoder."""
        for name, online in self._online_modules().items():
            self.momentum_encoder[name].load_state_dict(online.state_dict())

    @torch.no_grad()
    def momentum_update(self, momentum: float) -> None:
        """Eq.6: theta_k <- m * theta_k + (1 - m) * theta_q (paper convention,
        ``momentum`` is the weight of the *old* key parameters). BN running
        statistics of the key encoder are its own (MoCo / SlowFast)."""
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must be in [0, 1], got {momentum}')
        if momentum == 1.0:
            return
        k_params, q_params = [], []
        for name, online in self._online_modules().items():
            for pk, pq in zip(self.momentum_encoder[name].parameters(),
                              online.parameters()):
                k_params.append(pk)
                q_params.append(pq.detach())
        torch._foreach_mul_(k_params, momentum)
        torch._foreach_add_(k_params, q_params, alpha=1.0 - momentum)

    # ------------------------------------------------------------------
    # encoders
    @staticmethod
    def pool(feat: Tensor) -> Tensor:
        """Global average pooling: (N, C, [T,] H, W) -> (N, C)."""
        if isinstance(feat, (tuple, list)):
            feat = feat[-1]
        return feat.flatten(2).mean(dim=2) if feat.dim() > 2 else feat

    def encode(self, x: Tensor, groups: Optional[Tensor] = None) -> Tensor:
        """Online backbone + global pooling: (n, C_in, ...) -> (n, C).

        Args:
            x (Tensor): (n, C_in, ...) inputs.
            groups (Tensor, optional): (n,) BN group of each row (see
                :meth:`video_groups`); rows of one group are encoded
                together, each group in its own forward. ``None``: one batch.
        """
        if groups is None or not self.training:
            return self.pool(self.backbone(x))
        return _grouped(lambda t: self.pool(self.backbone(t)), x, groups)

    def video_groups(self, video_pos: Tensor, num_videos: int
                     ) -> Optional[Tensor]:
        """BN groups of whole videos for the online encoder.

        Args:
            video_pos (Tensor): (n,) position in the batch (0..N-1) of the
                video each input row belongs to.
            num_videos (int): N, the videos in this rank's batch.

        Returns:
            Tensor | None: (n,) group ids in [0, bn_groups) (contiguous runs
            of videos), or None when ``bn_groups == 1``.
        """
        if self.bn_groups == 1 or not self.training:
            return None
        if num_videos < self.bn_groups:
            raise ValueError(
                f'model.bn_groups={self.bn_groups} needs at least that many '
                f'videos per rank, the batch has {num_videos}; lower '
                'model.bn_groups or raise train_dataloader.batch_size.')
        return video_pos * self.bn_groups // num_videos

    @torch.no_grad()
    def encode_key(self, x: Tensor, heads: Sequence[str]) -> Dict[str, Tensor]:
        """Momentum encoder under shuffle-BN.

        Args:
            x (Tensor): (n, C_in, ...) this rank's key inputs.
            heads (Sequence[str]): heads to apply to the pooled features.

        Returns:
            dict: ``'feat'`` (n, C) pooled features and one (n, D) embedding
            per head name, in the input order.
        """
        groups = self.bn_groups if self.training else 1
        if self.shuffle_bn or groups > 1:
            # with bn_groups > 1 the permutation is needed on one process too
            x, idx_unshuffle = batch_shuffle_ddp(x, warn=groups == 1)
        enc = self.momentum_encoder['backbone']
        if groups > 1:  # contiguous groups of the shuffled batch
            feat = torch.cat([self.pool(enc(c))
                              for c in x.chunk(groups, dim=0)])
        else:
            feat = self.pool(enc(x))
        out = {'feat': feat}
        for h in heads:
            out[h] = self.momentum_encoder[h](feat)
        if self.shuffle_bn or groups > 1:
            out = {k: batch_unshuffle_ddp(v, idx_unshuffle)
                   for k, v in out.items()}
        return out

    # ------------------------------------------------------------------
    # evaluation
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Video-level features of the online backbone.

        Args:
            inputs (Tensor): (N, M, C, T, H, W) M clips per video (3D), or
                (N, M, C, H, W) M frames per video (2D backbones), or a
                single clip (N, C, T, H, W).

        Returns:
            Tensor: (N, C) pooled features averaged over the M clips/frames.
        """
        is_2d = self._is_2d()
        if (inputs.dim() == 6) or (is_2d and inputs.dim() == 5):
            n, m = inputs.shape[:2]
            feats = self.encode(inputs.flatten(0, 1))
            return feats.view(n, m, -1).mean(dim=1)
        return self.encode(inputs)

    def _is_2d(self) -> bool:
        return not any(isinstance(m, nn.Conv3d)
                       for m in self.backbone.modules())

    def forward(self, inputs: Tensor, data_samples=None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use loss, tensor or '
                           'predict.')

    def predict(self, inputs: Tensor, data_samples):
        """Attach (C,) video features to each data sample as ``feat``."""
        feats = self.extract_feat(inputs)
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat.detach(), 'feat')
        return data_samples

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        raise NotImplementedError


def _grouped(fn, x: Tensor, groups: Tensor) -> Tensor:
    """Apply ``fn`` to the rows of each group separately and put the outputs
    back in input order: (n, ...) -> (n, C)."""
    order = torch.argsort(groups, stable=True)
    counts = torch.bincount(groups).tolist()
    parts = [fn(c) for c in x[order].split([c for c in counts if c], dim=0)]
    out = torch.cat(parts)
    return out[torch.argsort(order)]


def sample_indices(data_samples, device) -> Tensor:
    """(N,) long video (dataset) indices from the samples' metainfo."""
    if not data_samples:
        raise ValueError('data_samples are required to enqueue video indices')
    idx = []
    for s in data_samples:
        v = s.metainfo.get('sample_idx', None)
        if v is None:
            raise KeyError(
                'data sample has no "sample_idx": add it to PackActionInputs('
                'meta_keys=(..., "sample_idx")) in the train pipeline')
        idx.append(int(v))
    return torch.as_tensor(idx, dtype=torch.long, device=device)


def warn_once(msg: str, _seen=set()) -> None:  # noqa: B006
    if msg not in _seen:
        _seen.add(msg)
        warnings.warn(msg)
