from .base import BaseMomentumContrast
from .iivcl import IIVCL

__all__ = ['BaseMomentumContrast', 'IIVCL']
from .vclr import VCLR  # noqa: E402,F401

__all__ += ['VCLR']
from .feature_extractor import VideoFeatureExtractor  # noqa: E402,F401

__all__ += ['VideoFeatureExtractor']
