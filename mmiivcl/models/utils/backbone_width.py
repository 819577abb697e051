"""The one rule for a backbone's output width (channels after pooling)."""
from typing import Optional

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def backbone_width(backbone: nn.Module) -> Optional[int]:
    """Channels of ``backbone``'s output, or None when it cannot be told.

    In order: the ``feat_dim`` attribute that mmaction2's ResNets declare;
    ResNet-style ``base_channels * block.expansion * 2 ** (num_stages - 1)``;
    the width of the last BN layer.
    """
    width = getattr(backbone, 'feat_dim', None)
    if isinstance(width, int):
        return width
    exp = getattr(getattr(backbone, 'block', None), 'expansion', None)
    base = getattr(backbone, 'base_channels', None)
    stages = getattr(backbone, 'num_stages', None)
    if None not in (exp, base, stages):
        return base * exp * 2 ** (stages - 1)
    last = None
    for m in backbone.modules():
        if isinstance(m, _BatchNorm):
            last = m.num_features
    return last
