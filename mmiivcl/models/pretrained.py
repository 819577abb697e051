"""Load a self-supervised backbone into a downstream model, loudly.

mmaction2's ``ResNet3d(pretrained=PATH)`` loads with ``strict=False`` and does
not strip the ``backbone.`` prefix, so a pretraining checkpoint silently loads
nothing (docs/design.md#loading-a-pretrained-backbone); a plain prefix loader
leaves mmaction2's
TSM shifted convolutions random because ``ResNetTSM`` wraps them
(``conv1.conv.weight`` becomes ``conv1.conv.net.weight``). This
module is the one loader used by every downstream config and test-only tool:

* :class:`PretrainedBackbone` -- a weight initializer for the *model-level*
  ``init_cfg`` (``model.init_cfg=dict(type='PretrainedBackbone',
  checkpoint=PATH)``, so ``--cfg-options model.init_cfg.checkpoint=PATH``
  selects the checkpoint). It initialises ``model.backbone`` with the
  backbone's own scheme, then overwrites it from the checkpoint.
* :func:`load_backbone_checkpoint` -- the same loading for runs that never
  call ``init_weights`` (mmengine's ``Runner.test``), e.g. ``tools/test.py``.

Accepted checkpoints: a full pretraining checkpoint (``state_dict`` with
``backbone.*``, ``momentum_encoder.*``, heads, queues), the output of
``tools/export_backbone.py`` (only ``backbone.*``) or any mmengine checkpoint
whose model has a ``backbone`` (a finetuned recognizer, too). Only the
``prefix`` (default ``backbone.``) tensors are used; everything else is
counted and ignored.

Matching, per backbone tensor: the same name, else the same name once the
wrapper segments ``net`` (``TemporalShift`` / ``TemporalPool``) and ``block``
(``NL3DWrapper``) are dropped on both sides, so an R2D-50 checkpoint loads
fully into ``ResNetTSM`` (and a TSM one into ``ResNet``).

Checks, each with a clear error (:class:`BackboneCheckpointError`):

* a matched tensor of another shape (e.g. an R3D-18 checkpoint into R3D-50):
  every such tensor is named with both shapes;
* less than ``min_ratio`` of the backbone's parameter *elements* loaded;
* no ``prefix`` tensor at all in the checkpoint.

The report (logged and returned as a dict) gives the loaded / total tensor
and parameter counts and names every backbone tensor left unloaded, every
unexpected checkpoint tensor and every renamed one.

mmaction2 1.2.0's recognizers do not take an ``init_cfg`` argument (mmdet's
detectors do); :mod:`mmiivcl.compat` (patch 4) lets ``BaseRecognizer.__init__``
accept it, so ``Recognizer3D`` / ``Recognizer2D`` configs can carry the
model-level ``init_cfg``.

``checkpoint=None`` in :class:`PretrainedBackbone` is *not* an error: the
backbone keeps its own random initialisation and a WARNING says so (this is
how the random-init baselines are run). A path that does not exist raises.
"""
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_INITIALIZERS
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmaction.registry import WEIGHT_INITIALIZERS

#: module-name segments added by mmaction2 wrappers (TemporalShift /
#: TemporalPool keep the wrapped module as ``.net``, NL3DWrapper as
#: ``.block``); dropped to match tensors across wrapped / unwrapped models.
WRAPPER_SEGMENTS = ('net', 'block')

#: ``meta['mmiivcl_export']`` marks the output of tools/export_backbone.py.
EXPORT_META_KEY = 'mmiivcl_export'

_LOGGER_NAME = 'current'


class BackboneCheckpointError(RuntimeError):
    """A pretrained backbone checkpoint does not fit the model's backbone."""


# ----------------------------------------------------------------------------
# checkpoint reading
def read_checkpoint(checkpoint: Union[str, Mapping],
                    map_location: str = 'cpu') -> dict:
    """Load a checkpoint with mmengine (``torch.load``, ``weights_only`` on:
    ``mmiivcl.compat`` allowlists the globals mmengine checkpoints need).

    Args:
        checkpoint: a path/URL understood by mmengine's ``CheckpointLoader``,
            or an already loaded checkpoint dict (returned unchanged).
    """
    if isinstance(checkpoint, Mapping):
        return dict(checkpoint)
    if not isinstance(checkpoint, str):
        raise TypeError(f'checkpoint must be a path or a dict, got '
                        f'{type(checkpoint).__name__}')
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'pretrained backbone checkpoint not found: {checkpoint!r} '
            '(pass a pretraining checkpoint or the output of '
            'tools/export_backbone.py with --cfg-options '
            'model.init_cfg.checkpoint=PATH)')
    return _load_checkpoint(checkpoint, map_location=map_location)


def model_state_of(ckpt: Mapping) -> Mapping[str, Any]:
    """The model state of a checkpoint: ``ckpt['state_dict']`` (mmengine),
    ``ckpt['model']``, or the dict itself; a DDP ``module.`` prefix is
    removed."""
    state = ckpt
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key, None), Mapping):
            state = ckpt[key]
            break
    keys = [k for k in state if isinstance(k, str)]
    if keys and all(k.startswith('module.') for k in keys):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state


def checkpoint_kind(ckpt: Mapping) -> str:
    """``'exported'`` (tools/export_backbone.py), ``'pretraining'`` (has a
    momentum encoder or queues), ``'recognizer'`` (has ``cls_head.*``),
    ``'detector'`` (``roi_head.*``) or ``'other'``."""
    meta = ckpt.get('meta', None)
    if isinstance(meta, Mapping) and EXPORT_META_KEY in meta:
        return 'exported'
    keys = [k for k in model_state_of(ckpt) if isinstance(k, str)]
    if any(k.startswith('momentum_encoder.') or k.startswith('queue')
           for k in keys):
        return 'pretraining'
    if any(k.startswith('cls_head.') for k in keys):
        return 'recognizer'
    if any(k.startswith('roi_head.') for k in keys):
        return 'detector'
    return 'other'


def extract_backbone_state(ckpt: Mapping,
                           prefix: str = 'backbone.') -> 'OrderedDict':
    """Tensors of ``ckpt`` under ``prefix``, with the prefix removed.

    Raises:
        BackboneCheckpointError: when no tensor carries the prefix.
    """
    state = model_state_of(ckpt)
    out = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                      if isinstance(k, str) and k.startswith(prefix)
                      and torch.is_tensor(v))
    if not out:
        sample = ', '.join(list(state)[:5])
        raise BackboneCheckpointError(
            f'the checkpoint has no {prefix!r} tensors (first keys: '
            f'{sample}). Expected a pretraining checkpoint (backbone.*, '
            'momentum_encoder.*, ...) or the output of '
            'tools/export_backbone.py; for a bare backbone state dict set '
            "prefix=''.")
    return out


# ----------------------------------------------------------------------------
# matching
def canonical_name(name: str) -> str:
    """``name`` without the wrapper segments of :data:`WRAPPER_SEGMENTS`,
    e.g. ``layer1.0.conv1.conv.net.weight`` -> ``layer1.0.conv1.conv.weight``.
    """
    return '.'.join(s for s in name.split('.') if s not in WRAPPER_SEGMENTS)


def match_state(src: Mapping[str, torch.Tensor],
                dst: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """Pair checkpoint tensors ``src`` with model tensors ``dst`` by name.

    Exact names first; then, among the rest, names equal after
    :func:`canonical_name` on both sides (only one-to-one pairs are used).

    Returns:
        dict with ``pairs`` (model name -> checkpoint name, shapes equal),
        ``renamed`` (the subset of pairs matched through wrappers),
        ``mismatched`` (list of (model name, checkpoint shape, model shape)),
        ``missing`` (model tensors without a partner, in model order) and
        ``unexpected`` (checkpoint tensors without a partner).
    """
    matched: Dict[str, str] = {}
    for name in dst:
        if name in src:
            matched[name] = name
    rest_dst = [n for n in dst if n not in matched]
    used = set(matched.values())
    rest_src = [n for n in src if n not in used]
    by_canon: Dict[str, List[str]] = {}
    for n in rest_src:
        by_canon.setdefault(canonical_name(n), []).append(n)
    dst_canon: Dict[str, List[str]] = {}
    for n in rest_dst:
        dst_canon.setdefault(canonical_name(n), []).append(n)
    renamed: Dict[str, str] = {}
    for canon, names in dst_canon.items():
        cands = by_canon.get(canon, [])
        if len(names) == 1 and len(cands) == 1:
            matched[names[0]] = cands[0]
            renamed[names[0]] = cands[0]
    pairs, mismatched = OrderedDict(), []
    for name in dst:
        if name not in matched:
            continue
        s = src[matched[name]]
        if tuple(s.shape) != tuple(dst[name].shape):
            mismatched.append((name, tuple(s.shape), tuple(dst[name].shape)))
        else:
            pairs[name] = matched[name]
    used = set(matched.values())
    return dict(
        pairs=pairs,
        renamed={k: v for k, v in renamed.items() if k in pairs},
        mismatched=mismatched,
        missing=[n for n in dst if n not in matched],
        unexpected=[n for n in src if n not in used])


# ----------------------------------------------------------------------------
# loading
def _get_backbone(model: nn.Module) -> nn.Module:
    if is_model_wrapper(model):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, nn.Module):
        raise BackboneCheckpointError(
            f'{type(model).__name__} has no `backbone` module: the '
            'pretrained backbone loader works on models whose encoder is the '
            'attribute `backbone` (mmaction2 recognizers, mmdet FastRCNN, '
            'IIVCL/VCLR). Use it as model.init_cfg, not backbone.init_cfg.')
    return backbone


def _fmt_count(n: int) -> str:
    return f'{n / 1e6:.2f}M' if n >= 1e5 else str(n)


def _list(names: List[str], limit: Optional[int] = None) -> str:
    if not names:
        return 'none'
    shown = names if limit is None else names[:limit]
    text = ', '.join(shown)
    if limit is not None and len(names) > limit:
        text += f', ... ({len(names) - limit} more, see the log)'
    return text


def format_report(report: Dict[str, Any]) -> str:
    """Human-readable load report (what the loader logs)."""
    verb = ('REFUSED, nothing loaded; would load'
            if report.get('refused') else 'loaded')
    lines = [
        f"PretrainedBackbone: {verb} {report['num_loaded']}/"
        f"{report['num_total']} backbone tensors, "
        f"{_fmt_count(report['loaded_params'])}/"
        f"{_fmt_count(report['total_params'])} parameters "
        f"({100.0 * report['ratio']:.1f} %) into "
        f"{report['backbone_type']} from {report['checkpoint']} "
        f"[{report['kind']} checkpoint, prefix {report['prefix']!r}]"]
    if report.get('meta_summary'):
        lines.append(f"  source: {report['meta_summary']}")
    lines.append('  left unloaded (keep their random init): '
                 + _list(report['missing']))
    lines.append('  unexpected (in the checkpoint, not in the backbone): '
                 + _list(report['unexpected']))
    mism = [f'{n}: checkpoint {tuple(a)} vs model {tuple(b)}'
            for n, a, b in report['mismatched']]
    lines.append('  shape mismatch: ' + _list(mism))
    if report['renamed']:
        items = list(report['renamed'].items())
        lines.append(f'  matched through wrappers ({len(items)}): '
                     + ', '.join(f'{s} -> {d}' for d, s in items))
    if report['ignored']:
        lines.append('  ignored non-backbone checkpoint entries: ' + ', '.join(
            f'{p}* ({n})' for p, n in report['ignored'].items()))
    return '\n'.join(lines)


def _meta_summary(ckpt: Mapping) -> str:
    meta = ckpt.get('meta', None)
    if not isinstance(meta, Mapping):
        return ''
    parts = []
    exp = meta.get(EXPORT_META_KEY, None)
    if isinstance(exp, Mapping):
        for key in ('algorithm', 'source_checkpoint'):
            if exp.get(key):
                parts.append(f'{key}={exp[key]}')
    for key in ('epoch', 'iter', 'experiment_name'):
        if meta.get(key, None) is not None:
            parts.append(f'{key}={meta[key]}')
    return ', '.join(parts)


def _ignored_groups(ckpt: Mapping, prefix: str) -> Dict[str, int]:
    groups: Dict[str, int] = OrderedDict()
    for k in model_state_of(ckpt):
        if not isinstance(k, str) or (prefix and k.startswith(prefix)):
            continue
        head = k.split('.')[0] + '.' if '.' in k else k
        if head == 'momentum_encoder.':
            head = '.'.join(k.split('.')[:2]) + '.'
        groups[head] = groups.get(head, 0) + 1
    return groups


def load_backbone_checkpoint(model: nn.Module,
                             checkpoint: Union[str, Mapping],
                             min_ratio: float = 0.9,
                             logger: Optional[Any] = None,
                             prefix: str = 'backbone.',
                             map_location: str = 'cpu') -> Dict[str, Any]:
    """Load the ``prefix`` tensors of ``checkpoint`` into ``model.backbone``.

    Args:
        model: a model (or model wrapper) with a ``backbone`` attribute.
        checkpoint: path / URL, or a loaded checkpoint dict.
        min_ratio: smallest accepted fraction of the backbone's parameter
            elements that must load (0.9).
        logger: an mmengine / logging logger, a logger name, or None for the
            current mmengine logger.
        prefix: checkpoint key prefix of the encoder (``'backbone.'``; e.g.
            ``'momentum_encoder.backbone.'`` for the key encoder).

    Returns:
        the report: ``checkpoint``, ``kind``, ``prefix``, ``backbone_type``,
        ``num_loaded`` / ``num_total`` (tensors, incl. buffers),
        ``loaded_params`` / ``total_params`` (parameter elements), ``ratio``,
        ``missing``, ``unexpected``, ``mismatched``, ``renamed``, ``ignored``,
        ``meta_summary``, ``random_init`` (False).

    Raises:
        BackboneCheckpointError: a shape mismatch, less than ``min_ratio``
            loaded, or no ``prefix`` tensor in the checkpoint.
    """
    if not 0.0 <= min_ratio <= 1.0:
        raise ValueError(f'min_ratio must be in [0, 1], got {min_ratio}')
    logger = logger if logger is not None else _LOGGER_NAME
    backbone = _get_backbone(model)
    ckpt = read_checkpoint(checkpoint, map_location=map_location)
    name = checkpoint if isinstance(checkpoint, str) else '<dict>'
    src = extract_backbone_state(ckpt, prefix)
    dst = backbone.state_dict()
    m = match_state(src, dst)
    param_names = {n for n, _ in backbone.named_parameters()}
    total_params = sum(p.numel() for p in backbone.parameters())
    loaded_params = sum(dst[n].numel() for n in m['pairs']
                        if n in param_names)
    report = dict(
        checkpoint=name,
        kind=checkpoint_kind(ckpt),
        prefix=prefix,
        backbone_type=type(backbone).__name__,
        num_loaded=len(m['pairs']),
        num_total=len(dst),
        loaded_params=loaded_params,
        total_params=total_params,
        ratio=loaded_params / max(total_params, 1),
        missing=m['missing'],
        unexpected=m['unexpected'],
        mismatched=m['mismatched'],
        renamed=dict(m['renamed']),
        ignored=_ignored_groups(ckpt, prefix),
        meta_summary=_meta_summary(ckpt),
        random_init=False)
    refused = dict(report, refused=True)
    if m['mismatched']:
        print_log(format_report(refused), logger=logger, level=30)
        details = '; '.join(f'{prefix}{n}: checkpoint {a} vs model {b}'
                            for n, a, b in m['mismatched'][:20])
        more = len(m['mismatched']) - 20
        raise BackboneCheckpointError(
            f'{len(m["mismatched"])} backbone tensor(s) of {name} have a '
            f'different shape than the model\'s {report["backbone_type"]} '
            f'(another architecture or depth?): {details}'
            + (f' ... and {more} more' if more > 0 else '')
            + '. Use the downstream config that matches the pretraining '
            'backbone.')
    if report['ratio'] < min_ratio:
        print_log(format_report(refused), logger=logger, level=30)
        raise BackboneCheckpointError(
            f'only {100.0 * report["ratio"]:.1f} % of the '
            f'{report["backbone_type"]} parameters '
            f'({report["num_loaded"]}/{report["num_total"]} tensors) would '
            f'load from {name}, below min_ratio={min_ratio}. Left unloaded: '
            f'{_list(m["missing"], 30)}. Unexpected in the checkpoint: '
            f'{_list(m["unexpected"], 10)}.')
    mapped = OrderedDict((d, src[s]) for d, s in m['pairs'].items())
    with torch.no_grad():
        backbone.load_state_dict(mapped, strict=False)
    level = 30 if (m['missing'] or m['unexpected']) else 20
    print_log(format_report(report), logger=logger, level=level)
    return report


@WEIGHT_INITIALIZERS.register_module(name='PretrainedBackbone')
class PretrainedBackbone:
    """Model-level initializer: ``model.backbone`` from an SSL checkpoint.

    mmengine applies a model's non-``Pretrained`` ``init_cfg`` *before* the
    children's ``init_weights``, which would overwrite the loaded weights.
    So this initializer first runs the backbone's own ``init_weights`` (its
    random init; its ``pretrained`` must be None, nothing downloads), then
    loads the checkpoint, then marks the backbone initialised so the parent
    skips it. The other children (heads) initialise as usual.

    Args:
        checkpoint (str, optional): a pretraining checkpoint or the output of
            ``tools/export_backbone.py``. None: random init, with a WARNING.
        min_ratio (float): see :func:`load_backbone_checkpoint`.
        prefix (str): checkpoint key prefix (``'backbone.'``).
        map_location (str): ``torch.load`` map location.

    Example::

        model = dict(type='Recognizer3D', ...,
                     init_cfg=dict(type='PretrainedBackbone', checkpoint=None))
        # tools/train.py CFG --cfg-options model.init_cfg.checkpoint=PATH
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 min_ratio: float = 0.9,
                 prefix: str = 'backbone.',
                 map_location: str = 'cpu',
                 **kwargs) -> None:
        unknown = set(kwargs) - {'layer', 'override', 'bias', 'bias_prob'}
        if unknown:
            raise TypeError(f'PretrainedBackbone got unknown arguments '
                            f'{sorted(unknown)}')
        self.checkpoint = checkpoint
        self.min_ratio = min_ratio
        self.prefix = prefix
        self.map_location = map_location
        self.report: Optional[Dict[str, Any]] = None

    @staticmethod
    def _check_no_other_source(backbone: nn.Module) -> None:
        pretrained = getattr(backbone, 'pretrained', None)
        if isinstance(pretrained, str) and pretrained:
            raise BackboneCheckpointError(
                f'model.backbone.pretrained={pretrained!r} would load (or '
                'download) other weights; with PretrainedBackbone set '
                'model.backbone.pretrained=None (downstream configs reset '
                "mmaction2's ImageNet/Kinetics URLs).")
        init_cfg = getattr(backbone, 'init_cfg', None)
        cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
        for c in cfgs:
            if isinstance(c, Mapping) and c.get('type') == 'Pretrained':
                raise BackboneCheckpointError(
                    f'model.backbone.init_cfg={dict(c)} would load other '
                    'weights; set model.backbone.init_cfg=None with '
                    'PretrainedBackbone.')
        if type(backbone).__name__ == 'ResNetTSM' and getattr(
                backbone, 'pretrained2d', False):
            raise BackboneCheckpointError(
                'ResNetTSM with pretrained2d=True loads torchvision weights '
                'from `pretrained`; set model.backbone.pretrained2d=False '
                '(PretrainedBackbone maps the shifted convolutions itself).')

    def __call__(self, module: nn.Module) -> None:
        backbone = _get_backbone(module)
        self._check_no_other_source(backbone)
        if not getattr(backbone, 'is_init', False) and hasattr(
                backbone, 'init_weights'):
            backbone.init_weights()  # the backbone's own random init
        if self.checkpoint is None:
            print_log(
                'PretrainedBackbone: checkpoint=None -> the backbone '
                f'{type(backbone).__name__} keeps its RANDOM initialisation '
                '(nothing loaded). Pass the pretrained weights with '
                '--cfg-options model.init_cfg.checkpoint=PATH.',
                logger=_LOGGER_NAME, level=30)
            self.report = dict(checkpoint=None, random_init=True,
                               num_loaded=0,
                               num_total=len(backbone.state_dict()),
                               loaded_params=0, ratio=0.0)
        else:
            self.report = load_backbone_checkpoint(
                module, self.checkpoint, min_ratio=self.min_ratio,
                prefix=self.prefix, map_location=self.map_location)
        if hasattr(backbone, '_is_init'):
            backbone._is_init = True  # the parent must not re-initialise it
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        if self.checkpoint is None:
            return 'PretrainedBackbone: random init (no checkpoint)'
        return f'PretrainedBackbone: backbone loaded from {self.checkpoint}'


# Also visible from scopes other than mmaction (e.g. a model built with
# `_scope_='mmdet'`, or init_weights() called without a default scope).
if 'PretrainedBackbone' not in MMENGINE_INITIALIZERS.module_dict:
    MMENGINE_INITIALIZERS.register_module(
        name='PretrainedBackbone', module=PretrainedBackbone)


def is_backbone_only_checkpoint(checkpoint: Union[str, Mapping],
                                model: nn.Module,
                                prefix: str = 'backbone.') -> bool:
    """True when ``checkpoint`` fits ``model`` only through its backbone.

    That is the case for a pretraining or exported checkpoint given to a
    downstream model: it has ``prefix`` tensors, but none of the model's
    other state keys (``cls_head.*``, ``roi_head.*``, ...). A finetuned
    checkpoint of the same model shares those keys and is loaded normally.
    """
    if is_model_wrapper(model):
        model = model.module
    ckpt = read_checkpoint(checkpoint)
    keys = {k for k in model_state_of(ckpt) if isinstance(k, str)}
    if not any(k.startswith(prefix) for k in keys):
        return False
    others = {k for k in model.state_dict() if not k.startswith(prefix)}
    return not (keys & others)


__all__ = [
    'PretrainedBackbone', 'load_backbone_checkpoint',
    'BackboneCheckpointError',
    'is_backbone_only_checkpoint', 'checkpoint_kind', 'extract_backbone_state',
    'match_state', 'canonical_name', 'read_checkpoint', 'format_report'
]
