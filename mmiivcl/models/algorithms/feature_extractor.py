"""A head-less model for test-only feature extraction (zero-shot retrieval,
t-SNE, kNN on a frozen backbone).

It holds only ``backbone`` (an unmodified mmaction2 backbone, so a pretraining
checkpoint's ``backbone.*`` keys load straight in) and the data preprocessor;
``predict`` sets ``feat`` (C,) on each data sample: the globally
average-pooled backbone output averaged over the M clips (3D) or frames (2D)
of the test pipeline (``BaseMomentumContrast.extract_feat``). No heads, queue
or momentum encoder are built.
"""
from typing import List, Optional, Union

from mmaction.registry import MODELS
from mmengine.model import BaseModel

from .base import BaseMomentumContrast


@MODELS.register_module()
class VideoFeatureExtractor(BaseMomentumContrast):
    """Backbone + global average pooling + clip averaging.

    Args:
        backbone (dict): mmaction2 backbone (3D, e.g. ``ResNet3dSlowOnly``;
            or 2D, e.g. ``ResNet`` for VCLR, frames averaged).
        data_preprocessor (dict, optional): ``ActionDataPreprocessor``
            (``format_shape='NCTHW'`` for 3D, ``'NCHW'`` for 2D).
        init_cfg (dict, optional): e.g. ``dict(type='PretrainedBackbone',
            checkpoint=PATH)`` (applied by ``init_weights``).
    """

    def __init__(self,
                 backbone: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(backbone, shuffle_bn=False,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)

    def encode(self, x):
        """Backbone + pooling; a 2D backbone given clips (n, C, T, H, W)
        encodes every frame and averages over T (so 2D backbones take NCHW
        frames or NCTHW clips alike)."""
        if x.dim() == 5 and self._is_2d():
            n, t = x.shape[0], x.shape[2]
            feat = super().encode(x.transpose(1, 2).flatten(0, 1))
            return feat.view(n, t, -1).mean(dim=1)
        return super().encode(x)

    def init_weights(self) -> None:
        """Initialise (or load, through ``init_cfg``) the backbone; there is
        no momentum encoder to synchronise."""
        BaseModel.init_weights(self)

    def loss(self, inputs, data_samples):
        raise RuntimeError(
            'VideoFeatureExtractor only extracts features (mode="predict" or '
            '"tensor"); train with a pretraining or recognizer config')
