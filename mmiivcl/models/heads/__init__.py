from .projection import ProjectionMLP

__all__ = ['ProjectionMLP']
from .order_classifier import OrderClassifier  # noqa: E402,F401

__all__ += ['OrderClassifier']
