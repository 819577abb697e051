"""Unknown config keywords named in one line, before anything is built.

mmengine builds a component as ``cls(**cfg)``; a misspelt key then fails
deep inside the build with ``TypeError: __init__() got an unexpected keyword
argument 'lamda_nn'``. :func:`install` wraps the ``build`` of mmaction2's
(and mmengine's root) ``MODELS``, ``DATASETS`` and ``TRANSFORMS`` registries:

* before a build, the config tree (nested ``type`` dicts and pipeline lists)
  is checked against the ``__init__`` signatures of *our* classes (module
  ``mmiivcl.*``), following ``**kwargs`` into the base classes that receive
  them, so the message has the full key path: ``model.lamda_nn: unknown
  argument of IIVCL; did you mean lambda_nn?``;
* a ``TypeError`` about an unexpected keyword raised while building any
  other class (mmaction2's, mmdet's) is turned into the same one line.

The error is :class:`ConfigError` (a ``ValueError``), raised without the
chained ``TypeError``.
"""
import difflib
import functools
import inspect
import re
from typing import Iterable, Optional, Set, Tuple

_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")
#: keys mmengine's build functions consume themselves
_BUILD_KEYS = {'type', '_scope_'}


class ConfigError(ValueError):
    """A configuration that cannot train as intended (names the key)."""


def accepted_arguments(cls) -> Optional[Set[str]]:
    """Keyword names ``cls(...)`` accepts, ``None`` when it takes any.

    ``**kwargs`` is followed into the base classes (their ``__init__``
    receive them); the chain ends at the first ``__init__`` without
    ``**kwargs``. A chain that reaches ``object`` with ``**kwargs`` open
    accepts anything.
    """
    names: Set[str] = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return None
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        var_kw = False
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
        if not var_kw:
            names.discard('self')
            return names
    return None


def unknown_argument_message(key_path: str, cls, key: str,
                             valid: Iterable[str]) -> str:
    """``model.lamda_nn: unknown argument of IIVCL; did you mean
    lambda_nn?`` (the valid list when nothing is close)."""
    valid = sorted(v for v in valid if v != 'self')
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = (f'did you mean {close[0]}?' if close else
            'valid arguments: ' + ', '.join(valid))
    return f'{key_path}: unknown argument of {cls.__name__}; {hint}'


def _resolve(registry, type_):
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    try:
        return registry.get(type_)
    except Exception:  # noqa: BLE001 - unknown types are mmengine's error
        return None


def find_unknown_argument(cfg, registry, path: str,
                          ours_only: bool = True) -> Optional[str]:
    """The first unknown keyword in the config tree ``cfg`` (a dict with
    ``type``), as a one-line message, else ``None``.

    Nested dicts with a ``type`` are resolved in the same registry's family
    (``registry``; mmaction2's registries find each other's types through
    the scope), lists are searched element-wise (``pipeline[2]``).
    """
    if isinstance(cfg, (list, tuple)):
        for i, item in enumerate(cfg):
            msg = find_unknown_argument(item, registry, f'{path}[{i}]',
                                        ours_only)
            if msg:
                return msg
        return None
    if not isinstance(cfg, dict):
        return None
    cls = _resolve(_registry_for(path, registry), cfg.get('type')) \
        if 'type' in cfg else None
    if inspect.isclass(cls) and (not ours_only or cls.__module__.startswith(
            'mmiivcl.')):
        valid = accepted_arguments(cls)
        if valid is not None:
            for key in cfg:
                if key not in _BUILD_KEYS and key not in valid:
                    return unknown_argument_message(f'{path}.{key}', cls,
                                                    key, valid)
    for key, value in cfg.items():
        if isinstance(value, (dict, list, tuple)) and key not in _BUILD_KEYS:
            msg = find_unknown_argument(value, registry, f'{path}.{key}',
                                        ours_only)
            if msg:
                return msg
    return None


def _registry_for(path: str, registry):
    """Transforms live in TRANSFORMS even when nested in a dataset."""
    if 'pipeline' in path.rsplit('.', 1)[-1] or path.endswith(']') and \
            '.pipeline[' in path:
        from mmaction.registry import TRANSFORMS
        return TRANSFORMS
    return registry


def _wrap(registry, prefix: str) -> None:
    build = registry.build
    if getattr(build, '_mmiivcl_args_checked', False):
        return

    @functools.wraps(build)
    def checked_build(cfg, *args, **kwargs):
        if isinstance(cfg, dict) and not getattr(_STATE, 'depth', 0):
            msg = find_unknown_argument(dict(cfg), registry, prefix)
            if msg:
                raise ConfigError(msg) from None
        _STATE.depth = getattr(_STATE, 'depth', 0) + 1
        try:
            return build(cfg, *args, **kwargs)
        except TypeError as exc:
            found = _UNEXPECTED.search(str(exc))
            cls = _resolve(registry, cfg.get('type')) if isinstance(
                cfg, dict) else None
            if not found or not inspect.isclass(cls):
                raise
            key = found.group(1)
            valid = accepted_arguments(cls)
            if valid is None or key in valid or key not in cfg:
                raise  # the TypeError is about something else
            raise ConfigError(unknown_argument_message(
                f'{prefix}.{key}', cls, key, valid)) from None
        finally:
            _STATE.depth -= 1

    checked_build._mmiivcl_args_checked = True
    registry.build = checked_build


class _State:
    depth = 0


_STATE = _State()


def registries() -> Tuple[Tuple[object, str], ...]:
    """``(registry, key prefix)`` pairs that :func:`install` wraps."""
    from mmaction import registry as mma
    from mmengine import registry as mme
    return ((mma.MODELS, 'model'), (mme.MODELS, 'model'),
            (mma.DATASETS, 'dataset'), (mme.DATASETS, 'dataset'),
            (mma.TRANSFORMS, 'pipeline'), (mme.TRANSFORMS, 'pipeline'))


def install() -> None:
    """Wrap the registries' ``build`` (idempotent)."""
    for reg, prefix in registries():
        _wrap(reg, prefix)
