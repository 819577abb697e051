from .base import BaseMomentumContrast
from .iivcl import IIVCL

__all__ = ['BaseMomentumContrast', 'IIVCL']
