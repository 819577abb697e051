"""Closes upstream gaps of the pinned stack
(docs/design.md#pinned-stack-and-upstream-gaps), each patch scoped to the case
it fixes.

Imported first by ``mmiivcl/__init__.py``; every patch is idempotent and
leaves the upstream code alone outside its case.

1. mmaction2 1.2.0 wheels/sdists ship without ``mmaction/models/localizers/drn``
   while ``mmaction.models.localizers`` imports it, so ``import mmaction.models``
   fails. Only when the folder is missing, we register a stand-in module whose
   ``DRN`` raises a clear error when built. Nothing else of mmaction2 depends
   on it.
2. torch >= 2.6 loads with ``weights_only=True``; mmengine checkpoints carry a few
   numpy / mmengine objects (message-hub history, numpy scalars). Only when
   torch has ``add_safe_globals``, we allowlist exactly those globals and keep
   ``weights_only`` on: a checkpoint is untrusted input.
3. mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device``
   unconditionally. Only for the gloo backend on a machine without any
   accelerator mmengine knows (CUDA, NPU, MLU, MUSA) we initialise the gloo
   process group without it, so ``torchrun`` / ``tools/dist_train.sh`` also
   run on CPU; every other case runs mmengine's own function.
4. mmaction2 1.2.0's ``BaseRecognizer.__init__`` takes no ``init_cfg`` (mmdet's
   detectors do). Only when its signature lacks it, the wrapped ``__init__``
   accepts the keyword and stores it as ``self.init_cfg`` (without it the call
   is unchanged), so recognizer configs can carry the model-level
   ``init_cfg=dict(type='PretrainedBackbone', ...)``.
5. AVA detection needs mmcv's compiled ops (mmdet's detectors and mmaction2's
   RoI heads import ``mmcv.ops``); the lite install profile (``mmcv-lite``)
   has none, and a config asking for ``FastRCNN`` would fail inside mmengine
   with "not in the registry". Only when ``mmcv._ext`` is absent, a stand-in
   ``FastRCNN`` is registered (mmaction2 and mmdet model registries) that
   raises one line saying how to get the ops. Nothing here imports
   ``mmcv.ops`` or mmdet's models.
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


def _accelerator_present() -> bool:
    """True when mmengine's launcher has a device branch for this machine."""
    import torch
    from mmengine.dist import utils as dist_utils
    return bool(torch.cuda.is_available() or dist_utils.is_mlu_available()
                or dist_utils.is_npu_available()
                or dist_utils.is_musa_available())


def _patch_launcher() -> None:
    if 'launcher' in _APPLIED:
        return
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        """mmengine's ``_init_dist_pytorch``, except gloo without any
        accelerator: there it would call ``torch.cuda.set_device``."""
        if backend != 'gloo' or init_backend != 'torch' or \
                _accelerator_present():
            return original(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch.mmiivcl_original = original
    dist_utils._init_dist_pytorch = _init_dist_pytorch
    _APPLIED.add('launcher')


def _patch_recognizer_init_cfg() -> None:
    if 'init_cfg' in _APPLIED:
        return
    import copy
    import functools
    import inspect

    from mmaction.models.recognizers.base import BaseRecognizer
    original = BaseRecognizer.__init__
    if getattr(original, '_mmiivcl_accepts_init_cfg', False) or \
            'init_cfg' in inspect.signature(original).parameters:
        _APPLIED.add('init_cfg')
        return  # mmaction2 takes init_cfg itself: nothing to do

    @functools.wraps(original)
    def __init__(self, *args, init_cfg=None, **kwargs):
        original(self, *args, **kwargs)
        if init_cfg is not None:
            self.init_cfg = copy.deepcopy(init_cfg)

    __init__._mmiivcl_accepts_init_cfg = True
    BaseRecognizer.__init__ = __init__
    _APPLIED.add('init_cfg')


#: the one line a config asking for AVA detection gets without mmcv's ops
AVA_OPS_HINT = (
    'AVA detection (FastRCNN, AVARoIHead) needs mmcv\'s compiled ops '
    '(mmcv.ops), which this environment lacks (mmcv-lite install profile): '
    'run `bash tools/setup_env.sh --with-ops`, or install an mmcv 2.1.0 built '
    'for your torch/CUDA (docs/install.md).')


class MissingOpsError(ImportError):
    """Raised by the AVA stand-ins when ``mmcv.ops`` is unavailable."""


def mmcv_ops_available() -> bool:
    """Whether mmcv's compiled extension is installed (not imported)."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def _patch_ava_stand_in() -> None:
    if 'ava' in _APPLIED:
        return
    _APPLIED.add('ava')
    if mmcv_ops_available():
        return  # the real FastRCNN comes from mmdet's registry

    class FastRCNN:  # noqa: D401 - stand-in
        """Stand-in for mmdet's FastRCNN when mmcv has no compiled ops."""

        def __init__(self, *args, **kwargs):
            raise MissingOpsError(AVA_OPS_HINT)

    from mmaction.registry import MODELS
    registries = [MODELS]
    if importlib.util.find_spec('mmdet') is not None:
        try:
            from mmdet.registry import MODELS as MMDET_MODELS
        except Exception:  # pragma: no cover - a broken mmdet install
            MMDET_MODELS = None
        if MMDET_MODELS is not None:
            registries.append(MMDET_MODELS)
            # ``_scope_='mmdet'`` makes mmengine import mmdet.models (the
            # registry's location) first, which fails on ``mmcv.ops`` with a
            # traceback; without the ops it cannot succeed, so the location
            # counts as imported and the lookup reaches the stand-in.
            MMDET_MODELS._imported = True
    for reg in registries:
        if 'FastRCNN' not in reg.module_dict:
            reg.register_module('FastRCNN', module=FastRCNN)


def apply() -> None:
    """Apply every patch (idempotent)."""
    _patch_mmaction_drn()
    _patch_torch_load()
    _patch_launcher()
    _patch_recognizer_init_cfg()
    _patch_ava_stand_in()


def cpu_ddp_wrapper_cfg() -> dict:
    """``model_wrapper_cfg`` that CPU DDP accepts (``device_ids=None``)."""
    return dict(type='MMDistributedDataParallel', device_ids=None,
                broadcast_buffers=False)


apply()
