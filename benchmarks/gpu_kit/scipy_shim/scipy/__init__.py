"""Import shim for the GPU kit only -- NOT scipy.

mmaction2 1.2.0 imports ``scipy`` and ``scipy.stats.mode`` when
``mmaction.datasets`` is imported (its skeleton transforms,
``pose_transforms.py``); video pretraining never calls them. A real scipy
wheel for Python 3.12 is ~41 MB, more than the kit's 64 MiB carry allows next
to decord and matplotlib, so ``benchmarks/gpu_check.sh`` puts this folder on
the path only when the machine has no scipy. Anything that really uses scipy
fails loudly (``scipy.stats.mode`` raises).
"""
__version__ = '0+mmiivcl.gpu_kit.shim'
