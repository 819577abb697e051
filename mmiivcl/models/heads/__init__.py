from .projection import ProjectionMLP

__all__ = ['ProjectionMLP']
