"""Shim (see ``scipy/__init__.py``): importable, never usable."""


def mode(*args, **kwargs):
    raise ImportError('scipy.stats.mode: this is the GPU kit\'s import shim '
                      '(benchmarks/gpu_kit/scipy_shim); install scipy to use '
                      'mmaction2\'s skeleton transforms')
