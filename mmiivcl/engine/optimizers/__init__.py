from .linear_probe_constructor import \
    LinearProbeOptimWrapperConstructor  # noqa: F401

__all__ = ['LinearProbeOptimWrapperConstructor']
