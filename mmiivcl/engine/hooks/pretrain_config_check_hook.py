"""Cross-object checks of a pretraining config before the first step
(docs/troubleshooting.md, configuration errors). Each message names the config
key and the fix.

The models validate what they can see at build time (IIVCL / VCLR: negative
or all-zero loss weights, temperature <= 0, head widths, queue lengths < 1;
``MomentumUpdateHook``: base momentum outside [0, 1)). What needs the model
*and* the data loader together is checked here, at ``before_train``:

* ρ (``SampleClipPair.num_clips``) >= 2 for IIVCL;
* every queue at least as long as the keys enqueued per step
  (world size x batch x keys per video, as the model declares them in
  ``queue_demand``: IIVCL ρ per video for each queue, VCLR K for the frame
  bank and 1 for the video bank); for a model that declares nothing, the
  first step's enqueue is measured (``FeatureQueue.last_enqueued``) and a
  too-short queue stops the run after that step;
* head input widths equal the backbone's output width (all heads that get a
  momentum copy);
* a ``MomentumUpdateHook`` is registered (otherwise the key encoder never
  moves) and its momentum is in [0, 1);
* SyncBN layers in a distributed CPU run (torch's SyncBN needs CUDA);
* a pipeline that defers ClipAugment's photometric ops to the model
  (``defer_photometric=True``) against a data preprocessor that applies them
  and the packed ``clip_aug_params``;
* the clip sampler against the data: a probe of a few videos' frame counts
  (header only) must find one at least ``min_frames`` long and one that holds
  a whole clip (``(clip_len - 1) * frame_interval + 1`` frames; segments x
  that for the segment sampler); otherwise every video would be skipped or
  looped.
"""
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from mmaction.registry import HOOKS

from ...datasets.worker_seed import iter_datasets
from .momentum_update_hook import MomentumUpdateHook
from ...models.utils import FeatureQueue, backbone_width


from ...utils.config_args import ConfigError  # noqa: E402,F401 (re-export)


# ----------------------------------------------------------------------
# helpers
def pipeline_transforms(dataset) -> List:
    for ds in iter_datasets(dataset):
        pipe = getattr(ds, 'pipeline', None)
        if pipe is not None and hasattr(pipe, 'transforms'):
            return list(pipe.transforms)
    return []


def find_sampler(transforms: Sequence) -> Optional[object]:
    """The clip sampler of a train pipeline (SampleClipPair /
    SampleSegmentTuple or anything with ``clip_span`` and ``min_frames``)."""
    for t in transforms:
        if hasattr(t, 'clip_span') and hasattr(t, 'min_frames'):
            return t
    return None


def _where(t) -> str:
    return f'train_dataloader.dataset.pipeline: {type(t).__name__}'


# ----------------------------------------------------------------------
# individual checks (pure: tests call them directly)
def check_rho(model: nn.Module, transforms: Sequence) -> None:
    """The sampler's clips per video (ρ) against the model's
    ``min_clips_per_video`` (IIVCL: 2)."""
    need = int(getattr(model, 'min_clips_per_video', 1))
    t = find_sampler(transforms)
    rho = getattr(t, 'num_clips', None)
    if t is not None and rho is not None and rho < need:
        raise ConfigError(
            f'{_where(t)}.num_clips={rho} (ρ) must be >= {need}: '
            f'{type(model).__name__} contrasts ρ clips of the same video '
            f'(the paper uses ρ = 2). Set num_clips={need} in '
            f'{type(t).__name__}.')


def keys_per_video(model: nn.Module, transforms: Sequence
                   ) -> Dict[str, Tuple[int, str]]:
    """Queue attribute -> (keys per video per step, config key), as the
    model declares it (``queue_demand``); empty when it declares nothing."""
    demand = getattr(model, 'queue_demand', None)
    if demand is None:
        return {}
    return dict(demand(getattr(find_sampler(transforms), 'num_clips', None)))


def _queue_message(key: str, length: int, need: int, world: int,
                   batch: int, per_video) -> str:
    return (f'{key}={length} is below the number of keys enqueued per '
            f'step, {need} = world_size {world} x batch_size {batch} x '
            f'{per_video} key(s) per video: every step would overwrite its '
            f'own keys and the negatives would be this batch only. Set '
            f'{key} >= {need} (the paper uses 65536; a multiple of {need} '
            'keeps whole steps together), or lower '
            'train_dataloader.batch_size.')


def check_queue_lengths(model: nn.Module, transforms: Sequence,
                        batch_size: int, world_size: int) -> List[str]:
    """Raise when a queue is shorter than one step's keys; returns the
    queues whose per-video count is unknown (checked at the first step)."""
    known = keys_per_video(model, transforms)
    unknown = []
    for name, m in model.named_modules():
        if not isinstance(m, FeatureQueue):
            continue
        if name not in known:
            unknown.append(name)
            continue
        per_video, key = known[name]
        need = world_size * batch_size * per_video
        if m.length < need:
            raise ConfigError(_queue_message(key, m.length, need, world_size,
                                             batch_size, per_video))
    return unknown


def check_first_enqueue(model: nn.Module, names: Sequence[str],
                        batch_size: int, world_size: int) -> None:
    """After the first step: raise when a named queue received more keys
    than it has rows (``FeatureQueue.last_enqueued``)."""
    modules = dict(model.named_modules())
    for name in names:
        q = modules[name]
        n = int(getattr(q, 'last_enqueued', 0))
        if n > q.length:
            per = max(n // max(batch_size * world_size, 1), 1)
            raise ConfigError(_queue_message(
                f'model.{name} length', q.length, n, world_size, batch_size,
                per))


def check_head_widths(model: nn.Module) -> None:
    width = backbone_width(getattr(model, 'backbone', nn.Module()))
    if width is None:
        return
    for name in getattr(model, 'head_names', []):
        head = getattr(model, name, None)
        c_in = getattr(head, 'in_channels', None)
        if isinstance(c_in, int) and c_in != width:
            raise ConfigError(
                f'model.{name}.in_channels={c_in} but the backbone outputs '
                f'{width} channels; set model.{name}.in_channels={width}.')


def check_momentum_hook(hooks: Sequence) -> None:
    found = [h for h in hooks if isinstance(h, MomentumUpdateHook)]
    if not found:
        raise ConfigError(
            'no MomentumUpdateHook is registered: the momentum (key) encoder '
            'would keep its initial weights. Add dict(type='
            "'MomentumUpdateHook', base_momentum=0.994) to custom_hooks "
            '(a custom_hooks list in a derived config replaces the base one).')
    for h in found:
        m = getattr(h, 'base_momentum', 0.0)
        if not 0.0 <= m < 1.0:
            raise ConfigError(
                f'MomentumUpdateHook.base_momentum={m} must be in [0, 1) '
                '(paper convention, e.g. 0.994).')


def check_sync_bn(model: nn.Module, world_size: int, device: str) -> None:
    has_sync = any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    if has_sync and world_size > 1 and not str(device).startswith('cuda'):
        raise ConfigError(
            'SyncBN layers in a distributed CPU run: torch\'s SyncBatchNorm '
            'only runs on CUDA. Use model.backbone.norm_cfg=dict(type='
            "'BN3d') with model.shuffle_bn=True, and drop cfg.sync_bn.")
    if has_sync and getattr(model, 'shuffle_bn', False):
        print_log('SyncBN is on and model.shuffle_bn=True: shuffle-BN is '
                  'redundant with global BN statistics (set '
                  'model.shuffle_bn=False to save two all-gathers per step).',
                  logger='current', level=logging.WARNING)


def check_deferred_photometric(model: nn.Module, transforms: Sequence
                               ) -> None:
    """A pipeline that defers ClipAugment's photometric ops
    (``defers_photometric``) needs a data preprocessor that applies them
    (``applies_deferred_photometric``) and their parameters in the packed
    metainfo; otherwise training would run without colour jitter, grayscale
    and blur, silently."""
    defer = [t for t in transforms if getattr(t, 'defers_photometric', False)]
    if not defer:
        return
    pre = getattr(model, 'data_preprocessor', None)
    if not getattr(pre, 'applies_deferred_photometric', False):
        raise ConfigError(
            f'{_where(defer[0])}(defer_photometric=True) leaves colour jitter, '
            'grayscale and blur to the model, but model.data_preprocessor is '
            f'{type(pre).__name__}, which does not apply them: set '
            "model.data_preprocessor.type='ClipAugmentPreprocessor' or "
            'defer_photometric=False.')
    packs = [t for t in transforms if hasattr(t, 'meta_keys')]
    if packs and 'clip_aug_params' not in packs[-1].meta_keys:
        raise ConfigError(
            f'{_where(packs[-1])}: meta_keys {tuple(packs[-1].meta_keys)} '
            "lack 'clip_aug_params', which ClipAugmentPreprocessor needs for "
            'the deferred photometric ops: add it to meta_keys.')


def probe_frame_counts(dataset, num: int) -> List[int]:
    """decord frame counts of up to ``num`` evenly spaced videos (header
    only; unreadable ones are left out). No random numbers are drawn."""
    infos = None
    for ds in iter_datasets(dataset):
        if hasattr(ds, 'get_data_info') and hasattr(ds, '__len__'):
            infos = ds
            break
    if infos is None or len(infos) == 0:
        return []
    n = len(infos)
    count = n if num is None or num < 0 else min(num, n)
    idx = sorted({int(i) for i in np.linspace(0, n - 1, count)})
    counts = []
    try:
        import decord
    except ImportError:  # pragma: no cover
        return []
    missing = []
    for i in idx:
        path = infos.get_data_info(i).get('filename')
        if not osp.exists(path):
            missing.append(path)
            continue
        try:
            reader = decord.VideoReader(path, num_threads=1)
            counts.append(len(reader))
            del reader
        except Exception:  # noqa: BLE001 - bad files are SkipStatsHook's
            continue
    if idx and len(missing) == len(idx):
        raise ConfigError(missing_videos_message(infos, missing))
    return counts


def missing_videos_message(dataset, missing: Sequence[str]) -> str:
    """Every probed video is missing: the paths are wrong, not the files."""
    prefix = getattr(dataset, 'data_prefix', None)
    ann = getattr(dataset, 'ann_file', None)
    return (f'none of the {len(missing)} probed training videos exists (e.g. '
            f'{missing[0]}): train_dataloader.dataset.data_prefix={prefix!r} '
            f'or train_dataloader.dataset.ann_file={ann!r} is wrong (paths '
            "in the list are relative to data_prefix['video'])")


def check_clip_vs_videos(transforms: Sequence, frame_counts: Sequence[int]
                         ) -> None:
    t = find_sampler(transforms)
    if t is None or not frame_counts:
        return
    longest, n = max(frame_counts), len(frame_counts)
    k = getattr(t, 'num_segments', None)
    need_min = max(t.min_frames, 2 * k) if k else t.min_frames
    if longest < need_min:
        raise ConfigError(
            f'{_where(t)}.min_frames={t.min_frames} (needs {need_min} '
            f'frames), but the longest of {n} probed videos has {longest}: '
            'every video would be skipped. Lower min_frames or check the '
            'data (tools/check_videos.py).')
    span = t.clip_span
    whole = k * (span + 1) if k else span
    if longest < whole:
        what = (f'{k} segments x (clip span {span} + 1)' if k else
                f'(clip_len {t.clip_len} - 1) x frame_interval '
                f'{t.frame_interval} + 1')
        fit = max(1, (longest - 1) // max(t.clip_len - 1, 1)) if \
            t.clip_len > 1 else 1
        raise ConfigError(
            f'{_where(t)}(clip_len={t.clip_len}, frame_interval='
            f'{t.frame_interval}) needs {whole} frames ({what}), but the '
            f'longest of {n} probed videos has {longest}: no video holds a '
            'whole clip and every clip would loop. Lower frame_interval '
            f'(<= {fit} fits {longest} frames) or clip_len.')


# ----------------------------------------------------------------------
@HOOKS.register_module()
class PretrainConfigCheckHook(Hook):
    """Run the checks above before training (momentum-contrast models only).

    Args:
        probe_videos (int): videos whose frame count is read (header only)
            for the clip-length check; ``-1`` = all, ``0`` = skip. Defaults
            to 16.
        require_momentum_hook (bool): fail without a ``MomentumUpdateHook``.
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, probe_videos: int = 16,
                 require_momentum_hook: bool = True) -> None:
        self.probe_videos = probe_videos
        self.require_momentum_hook = require_momentum_hook
        self._measure: List[str] = []  # queues checked after the 1st step
        self._loader_batch = (1, 1)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'momentum_encoder'):
            return  # not a momentum-contrast pretraining model
        loader = runner.train_dataloader
        transforms = pipeline_transforms(loader.dataset)
        world = dist.get_world_size()
        batch = loader.batch_size or 1
        check_rho(model, transforms)
        check_head_widths(model)
        self._measure = check_queue_lengths(model, transforms, batch, world)
        self._loader_batch = (batch, world)
        if self.require_momentum_hook:
            check_momentum_hook(runner.hooks)
        device = next((p.device for p in model.parameters()),
                      torch.device('cpu'))
        check_sync_bn(model, world, str(device))
        check_deferred_photometric(model, transforms)
        if self.probe_videos:
            counts = probe_frame_counts(loader.dataset, self.probe_videos)
            check_clip_vs_videos(transforms, counts)
        print_log('PretrainConfigCheckHook: configuration checks passed',
                  logger='current')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self._measure:
            return
        names, self._measure = self._measure, []
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        check_first_enqueue(model, names, *self._loader_batch)
