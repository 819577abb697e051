"""Closes upstream packaging gaps of the pinned stack
(docs/design.md#pinned-stack-and-upstream-gaps).

Imported first by ``mmiivcl/__init__.py``; every patch is idempotent.

1. mmaction2 1.2.0 wheels/sdists ship without ``mmaction/models/localizers/drn``
   while ``mmaction.models.localizers`` imports it, so ``import mmaction.models``
   fails. We register a stand-in module whose ``DRN`` raises a clear error when
   built. Nothing else of mmaction2 depends on it.
2. torch >= 2.6 loads with ``weights_only=True``; mmengine checkpoints carry a few
   numpy / mmengine objects (message-hub history, numpy scalars). We allowlist
   exactly those globals with ``torch.serialization.add_safe_globals`` and keep
   ``weights_only`` on: a checkpoint is untrusted input.
3. mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device``
   unconditionally. Without CUDA we initialise a gloo process group instead, so
   ``torchrun`` / ``tools/dist_train.sh`` also run on CPU.
"""
import importlib.util
import os
import sys
import types

_APPLIED = set()


def _patch_mmaction_drn() -> None:
    name = 'mmaction.models.localizers.drn'
    if 'drn' in _APPLIED or name in sys.modules:
        return
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return
    pkg_dir = list(spec.submodule_search_locations)[0]
    if os.path.isfile(os.path.join(pkg_dir, 'models', 'localizers', 'drn',
                                   'drn.py')):
        _APPLIED.add('drn')
        return  # a complete mmaction2 install: nothing to do

    class DRN:  # noqa: D401 - stand-in
        """Stand-in for mmaction2's DRN, missing from the 1.2.0 wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction2 1.2.0 as published on PyPI lacks '
                'mmaction/models/localizers/drn; DRN cannot be used. Install '
                'mmaction2 from source to use DRN (mmiivcl does not need it).')

    pkg = types.ModuleType(name)
    pkg.__path__ = []  # a package, so `from .drn.drn import DRN` resolves
    mod = types.ModuleType(name + '.drn')
    mod.DRN = DRN
    pkg.drn = mod
    sys.modules[name] = pkg
    sys.modules[name + '.drn'] = mod
    try:  # so that a config asking for DRN gets the message above
        from mmaction.registry import MODELS
        MODELS.register_module('DRN', module=DRN, force=True)
    except Exception:  # pragma: no cover - registry layout changed
        pass
    _APPLIED.add('drn')


def _safe_globals() -> list:
    import collections

    import numpy as np
    out = [collections.OrderedDict, collections.defaultdict, np.ndarray,
           np.dtype, set, slice]
    try:
        from numpy.core.multiarray import _reconstruct, scalar
        out += [_reconstruct, scalar]
    except ImportError:  # numpy >= 2 layout
        from numpy._core.multiarray import _reconstruct, scalar
        out += [_reconstruct, scalar]
    # numpy's per-dtype classes (np.dtypes.Float64DType, ...) pickled by dtype
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    out += [np.float64, np.float32, np.int64, np.int32, np.bool_]
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
        out.append(HistoryBuffer)
    except ImportError:
        pass
    try:
        from mmengine.config.config import ConfigDict
        out.append(ConfigDict)
    except ImportError:
        pass
    return out


def _history_buffer_getattr(obj, name):
    """The one ``getattr`` an mmengine checkpoint needs, and nothing more.

    mmengine's message hub pickles ``HistoryBuffer``'s statistics table as
    ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean' | ...)``.
    Allowlisting the builtin ``getattr`` would let a crafted checkpoint reach
    any attribute (``__globals__``, ``__builtins__``...), so this stand-in is
    registered under its name instead and refuses everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = set(HistoryBuffer._statistics_methods) | {
        'min', 'max', 'current', 'mean'}
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle_error(f'checkpoint asks for getattr({obj!r}, {name!r}), '
                       'which mmiivcl does not allow under weights_only')


def pickle_error(msg: str) -> Exception:
    import pickle
    return pickle.UnpicklingError(msg)


def _patch_torch_load() -> None:
    if 'load' in _APPLIED:
        return
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(_safe_globals() + [
            (_history_buffer_getattr, '__builtin__.getattr'),
            (_history_buffer_getattr, 'builtins.getattr'),
        ])
    _APPLIED.add('load')


def _patch_launcher() -> None:
    if 'launcher' in _APPLIED:
        return
    import torch
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        if backend != 'gloo':
            # nccl has no CPU path: the only CPU backend torch ships is gloo
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch
    _APPLIED.add('launcher')


def apply() -> None:
    """Apply every patch (idempotent)."""
    _patch_mmaction_drn()
    _patch_torch_load()
    _patch_launcher()


def cpu_ddp_wrapper_cfg() -> dict:
    """``model_wrapper_cfg`` that CPU DDP accepts (``device_ids=None``)."""
    return dict(type='MMDistributedDataParallel', device_ids=None,
                broadcast_buffers=False)


apply()
