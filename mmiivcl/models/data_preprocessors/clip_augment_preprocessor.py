"""Data preprocessor that applies ClipAugment's deferred photometric ops.

With ``ClipAugment(defer_photometric=True)`` a DataLoader worker only decodes,
resizes, crops and flips; the colour jitter, grayscale and blur parameters it
drew for each clip travel in the data samples' ``clip_aug_params`` and are
applied here, on the batch, on the model's device (a GPU in a real run). The
worker's CPU cost per sample then drops to decode + geometry
(benchmarks/RESULTS.md, bench_prepare's ``deferred`` column), which lowers
the CPU cores one GPU needs (docs/cost_model.md).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS

from .clip_photometric import apply_clip_photometric

_FIX = ("add 'clip_aug_params' to PackActionInputs' meta_keys (as "
        'configs/_base_/datasets/k400_unlabeled_gpu_aug.py does)')


@MODELS.register_module()
class ClipAugmentPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` + ClipAugment's photometric ops per clip.

    In training, for every video of the batch whose ``clip_aug_params`` are
    marked ``deferred``, each of its clips gets its own colour jitter
    (ops in the drawn order), grayscale and Gaussian blur, exactly as
    ``ClipAugment`` would have applied them in the worker (same parameters,
    float maths, rounded to whole grey levels; the two paths agree within one
    grey level, tests/test_models/test_clip_augment_preprocessor.py), then
    the usual normalisation. Clips whose parameters say the worker already
    applied them pass unchanged, so the same model serves both pipelines.
    Outside training nothing is augmented.

    Inputs: per video a (M, 3, T, H, W) uint8 tensor (``FormatShape('NCTHW')``
    of M clips); ``clip_aug_params`` holds M dicts in clip order.

    Args:
        mean, std: normalisation, as ``ActionDataPreprocessor``.
        format_shape: must be ``'NCTHW'`` (clips of frames).
        to_rgb: must be False: the inputs are RGB already (the ops' luma
            weights need RGB).
        **kwargs: the rest of ``ActionDataPreprocessor``'s arguments.
    """

    #: read by PretrainConfigCheckHook: a pipeline may defer to this model
    applies_deferred_photometric = True

    def __init__(self, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 format_shape: str = 'NCTHW', to_rgb: bool = False,
                 **kwargs) -> None:
        if format_shape != 'NCTHW':
            raise ValueError(
                'ClipAugmentPreprocessor: format_shape must be NCTHW (clips '
                f"of frames), got {format_shape!r}; use ActionDataPreprocessor "
                'for other inputs')
        if to_rgb:
            raise ValueError(
                'ClipAugmentPreprocessor: to_rgb=True is not supported (the '
                "deferred ops' luma weights need RGB input, which the "
                'mmiivcl readers yield); drop to_rgb')
        super().__init__(mean=mean, std=std, format_shape=format_shape,
                         **kwargs)

    @staticmethod
    def _row_params(inputs, data_samples) -> List[List[Dict]]:
        """Per video, per clip: the parameters to apply here, ``{}`` (no
        op) for a clip the worker already augmented; checks shapes and
        metainfo."""
        out = []
        for x, s in zip(inputs, data_samples):
            if 'clip_aug_params' not in s.metainfo:
                raise KeyError('ClipAugmentPreprocessor: a training sample '
                               "has no 'clip_aug_params' metainfo; " + _FIX)
            plist = s.metainfo['clip_aug_params']
            if x.dim() != 5:
                raise ValueError('ClipAugmentPreprocessor expects (M, 3, T, H, '
                                 f'W) per video, got {tuple(x.shape)}')
            if len(plist) != x.shape[0]:
                raise ValueError(
                    f'ClipAugmentPreprocessor: {len(plist)} clip_aug_params '
                    f'for {x.shape[0]} clips of one video (ClipAugment and '
                    'FormatShape must see the same clips)')
            out.append([p if p.get('deferred') else {} for p in plist])
        return out

    def augment(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples) -> List[torch.Tensor]:
        """Apply the deferred ops video by video; returns one float tensor
        per video (the path for videos of different shapes)."""
        vids = list(inputs)
        out = [x.to(torch.float32, copy=True) for x in vids]  # never inputs
        return [apply_clip_photometric(x, ps, inplace=True) if any(ps) else x
                for x, ps in zip(out, self._row_params(vids, data_samples))]

    def preprocess(self, inputs: List[torch.Tensor], data_samples,
                   training: bool = False) -> Tuple:
        """In training, a batch of same-shape videos is stacked once, made
        float once and augmented and normalised in place (B, M, 3, T, H, W);
        otherwise ``ActionDataPreprocessor.preprocess``."""
        if not training:
            return super().preprocess(inputs, data_samples, training)
        inputs = list(inputs)
        params = self._row_params(inputs, data_samples)
        if not any(any(ps) for ps in params):
            return super().preprocess(inputs, data_samples, training)
        if len({tuple(x.shape) for x in inputs}) != 1:  # padded: per video
            return super().preprocess(self.augment(inputs, data_samples),
                                      data_samples, training)
        x = torch.stack(inputs).float()  # a new tensor, never the inputs
        x = apply_clip_photometric(
            x.view(-1, *x.shape[2:]), [p for ps in params for p in ps],
            inplace=True).view_as(x)  # (B * M, 3, T, H, W) clips
        if self._enable_normalize:
            x = x.sub_(self.mean).div_(self.std)
        if self.blending is not None:
            x, data_samples = self.blending(x, data_samples)
        return x, data_samples
