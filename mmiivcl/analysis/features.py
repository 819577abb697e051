"""Video-level backbone features for test-only tools (retrieval, t-SNE).

One path for every tool: a model built from a config
(any model with a ``backbone`` and ``extract_feat``: a pretraining model such
as ``IIVCL``, or the head-less ``VideoFeatureExtractor`` of the retrieval
configs), initialised with ``init_weights()`` and then loaded through
:func:`~mmiivcl.models.pretrained.load_backbone_checkpoint`, which prints the
load report (docs/design.md#loading-a-pretrained-backbone: ``Runner.test()``
never calls ``init_weights()``, so
test-only runs load through their checkpoint argument). Features are the
online backbone's globally average-pooled output averaged over the M clips
(3D) or frames (2D) the test pipeline samples per video
(``BaseMomentumContrast.extract_feat``).
"""
import copy
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import DefaultScope, init_default_scope
from torch import nn

ConfigLike = Union[str, Config, dict, nn.Module]

#: Where :func:`resolve_pipeline` looks for a test pipeline, in order.
PIPELINE_KEYS = ('retrieval_pipeline', 'test_pipeline', 'val_pipeline')


def load_config(cfg: Union[str, Config, dict]) -> Config:
    """A :class:`Config` from a path, a Config or a dict."""
    if isinstance(cfg, Config):
        return cfg
    if isinstance(cfg, dict):
        return Config(cfg)
    if isinstance(cfg, str):
        return Config.fromfile(cfg)
    raise TypeError(f'expected a config path, Config or dict, got '
                    f'{type(cfg).__name__}')


def _scope():
    """Enter mmaction2's registry scope (configs say default_scope='mmaction')
    unless one is already active."""
    if DefaultScope.get_current_instance() is None:
        init_default_scope('mmaction')


def build_feature_model(cfg_or_model: ConfigLike,
                        checkpoint: Optional[str] = None,
                        device: Union[str, torch.device] = 'cpu',
                        min_ratio: float = 0.9,
                        seed: Optional[int] = 0,
                        logger: Any = None
                        ) -> Tuple[nn.Module, Optional[Dict[str, Any]]]:
    """Build (or take) a model, initialise it and load backbone weights.

    Args:
        cfg_or_model: config path / Config / dict (uses ``cfg.model``), or a
            built model (used as is: neither re-initialised nor copied).
        checkpoint: pretraining checkpoint, exported backbone or any mmengine
            checkpoint with ``backbone.*`` keys; ``None`` keeps the random
            initialisation (a random-backbone baseline).
        device: where the model runs.
        min_ratio: passed to ``load_backbone_checkpoint`` (fail loudly when
            less of the backbone loads).
        seed: torch seed for the random initialisation of a built model.
        logger: where the load report goes (mmengine current logger).

    Returns:
        (model in eval mode, load report or None when nothing was loaded).
    """
    from mmaction.registry import MODELS

    from ..models.pretrained import load_backbone_checkpoint
    if isinstance(cfg_or_model, nn.Module):
        model = cfg_or_model
    else:
        cfg = load_config(cfg_or_model)
        _scope()
        model_cfg = copy.deepcopy(cfg.model)
        # a downstream model-level init_cfg would load at init_weights();
        # here the checkpoint argument is the one source of weights
        model_cfg.pop('init_cfg', None)
        if seed is not None:
            torch.manual_seed(seed)
        model = MODELS.build(model_cfg)
        _quiet_init_weights(model)
    report = None
    if checkpoint:
        report = load_backbone_checkpoint(model, checkpoint,
                                          min_ratio=min_ratio, logger=logger)
    else:
        print_log('no checkpoint given: the backbone keeps its random '
                  'initialisation', logger=logger or 'current', level=30)
    model.to(device)
    model.eval()
    return model, report


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` without mmengine's per-parameter INFO dump
    (printed to the console when no log file is open)."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def resolve_pipeline(cfg: Union[str, Config, dict]) -> List[dict]:
    """The test pipeline of a config: a top-level ``retrieval_pipeline`` /
    ``test_pipeline`` / ``val_pipeline``, else the (first sub-)dataset
    pipeline of ``test_dataloader`` / ``val_dataloader``."""
    cfg = load_config(cfg)
    for key in PIPELINE_KEYS:
        if cfg.get(key, None):
            return copy.deepcopy(list(cfg[key]))
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key, None)
        if not loader:
            continue
        ds = loader.get('dataset', {})
        if 'datasets' in ds:  # TaggedConcatDataset / ConcatDataset
            subs = ds['datasets']
            ds = list(subs.values())[0] if isinstance(subs, dict) else subs[0]
        if ds.get('pipeline', None):
            return copy.deepcopy(list(ds['pipeline']))
    raise KeyError(
        'no test pipeline in the config: define one of '
        f'{PIPELINE_KEYS} or a test_dataloader/val_dataloader with a '
        'dataset pipeline (SampleFrames(test_mode=True), DecordDecode, '
        "Resize, CenterCrop, FormatShape, PackActionInputs(meta_keys=("
        "'sample_idx',)))")


def ensure_meta_keys(pipeline: Sequence[dict],
                     keys: Sequence[str] = ('sample_idx', 'filename')
                     ) -> List[dict]:
    """A copy of ``pipeline`` whose ``PackActionInputs`` keeps ``keys`` in
    the sample metainfo."""
    pipeline = copy.deepcopy(list(pipeline))
    for t in pipeline:
        if isinstance(t, dict) and t.get('type') == 'PackActionInputs':
            have = tuple(t.get('meta_keys', ()))
            t['meta_keys'] = have + tuple(k for k in keys if k not in have)
    return pipeline


def build_list_dataset(list_file: str,
                       data_prefix: str,
                       pipeline: Sequence[dict],
                       allow_skip: bool = False):
    """An ``UnlabeledVideoDataset`` in test mode over ``path [label]`` lines.

    Args:
        list_file: the list; paths relative to ``data_prefix``.
        data_prefix: video root folder.
        pipeline: test pipeline (``sample_idx`` and ``filename`` are added
            to the packed metainfo if missing).
        allow_skip: exclude (and list) undecodable videos up front instead
            of failing on them.
    """
    from mmaction.registry import DATASETS
    _scope()
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'list file not found: {list_file}')
    return DATASETS.build(dict(
        type='UnlabeledVideoDataset', ann_file=list_file,
        data_prefix=dict(video=data_prefix),
        pipeline=ensure_meta_keys(pipeline), test_mode=True,
        allow_skip_in_test=allow_skip))


class DecodedSamples:
    """The packed samples of a dataset, decoded once and kept in memory.

    For a *deterministic* test pipeline (``SampleFrames(test_mode=True)``,
    resize, centre crop: every retrieval config and the demo), every pass
    over the dataset yields the same tensors, so several models (seeds,
    learned vs random) can share one decoding. ``len`` and indexing as a
    map-style dataset; ``filenames`` in the decoding order.
    """

    def __init__(self, dataset) -> None:
        self.samples = [dataset[i] for i in range(len(dataset))]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        return self.samples[i]


@torch.no_grad()
def extract_features(model: nn.Module,
                     dataset,
                     batch_size: int = 8,
                     num_workers: int = 0,
                     device: Optional[Union[str, torch.device]] = None,
                     progress: bool = False) -> Dict[str, Any]:
    """Video-level features of every sample of ``dataset``.

    Args:
        model: a model with ``data_preprocessor`` and ``extract_feat``
            (inputs (N, M, C, T, H, W) or (N, M, C, H, W) -> (N, C)).
        dataset: a dataset yielding packed samples (``inputs``,
            ``data_samples`` with ``gt_label`` and ``sample_idx``).
        batch_size / num_workers: DataLoader settings.
        device: defaults to the model's device.

    Returns:
        dict: ``feats`` (N, C) float32, ``labels`` (N,) int64 (-1 = none),
        ``sample_idx`` (N,) int64 and ``filenames`` (N,), sorted by
        ``sample_idx``.
    """
    from torch.utils.data import DataLoader
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size,
                        num_workers=num_workers, shuffle=False,
                        collate_fn=pseudo_collate)
    feats, labels, idxs, names = [], [], [], []
    n_done, n_all = 0, len(dataset)
    try:
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            inputs = data['inputs'].to(device)
            out = model.extract_feat(inputs)
            feats.append(out.float().cpu().numpy())
            for s in data['data_samples']:
                lab = s.get('gt_label', None)
                lab = -1 if lab is None else int(
                    torch.as_tensor(lab).reshape(-1)[0])
                labels.append(lab)
                idxs.append(int(s.metainfo.get('sample_idx', len(idxs))))
                names.append(s.metainfo.get('filename', ''))
            n_done += len(data['data_samples'])
            if progress:
                print(f'\r  features: {n_done}/{n_all}', end='', flush=True)
    finally:
        model.train(was_training)
    if progress:
        print()
    if not feats:
        raise ValueError('the dataset is empty: no features extracted')
    f = np.concatenate(feats)
    order = np.argsort(np.asarray(idxs), kind='stable')
    return dict(feats=f[order], labels=np.asarray(labels, np.int64)[order],
                sample_idx=np.asarray(idxs, np.int64)[order],
                filenames=[names[i] for i in order])


def read_class_names(path: Optional[str]) -> Optional[List[str]]:
    """Class names, one per line (line i = label i), or None."""
    if not path:
        return None
    with open(path, encoding='utf-8') as f:
        return [ln.strip() for ln in f if ln.strip()]
