"""Zero-shot video retrieval of a (pretrained) backbone: from videos to R@k.

Protocol (docs/design.md#downstream-protocols; IIVCL paper, Sec. 4.8 and Table
7): no training. Every
video of the *query* list (UCF101/HMDB51: the test split 1; demo: the held-out
``query_list.txt``) is described by the online backbone's globally
average-pooled features averaged over the M clips (3D) / frames (2D, VCLR)
that the test pipeline samples uniformly over the video; the features are
L2-normalised and each query ranks the *gallery* videos (the train split;
demo: ``train_list.txt``) by cosine similarity, ties by gallery index. R@k is
the percentage of queries with at least one same-class video among their k
nearest gallery videos (k = 1, 5, 10, 20). The metric itself is
:class:`~mmiivcl.retrieval.VideoRetrievalMetric`; chance is the expected R@k
of a random gallery order.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..analysis.features import (ConfigLike, DecodedSamples,
                                 build_feature_model, build_list_dataset,
                                 extract_features, load_config,
                                 resolve_pipeline)

from .functional import format_retrieval_table, retrieval_chance
from .metric import VideoRetrievalMetric

GALLERY_SUBSETS = ('train', 'gallery')
QUERY_SUBSETS = ('test', 'query', 'val')


def lists_from_config(cfg) -> Tuple[str, str, str]:
    """``(gallery_list, query_list, data_prefix)`` from a retrieval config's
    ``test_dataloader`` (a ``TaggedConcatDataset`` with a 'train'/'gallery'
    and a 'test'/'query'/'val' subset)."""
    cfg = load_config(cfg)
    ds = (cfg.get('test_dataloader', None) or {}).get('dataset', {})
    subs = ds.get('datasets', None)
    if not isinstance(subs, dict):
        raise KeyError('the config has no test_dataloader.dataset of type '
                       'TaggedConcatDataset with named subsets; pass '
                       'gallery_list, query_list and data_prefix')
    gal = next((subs[k] for k in GALLERY_SUBSETS if k in subs), None)
    qry = next((subs[k] for k in QUERY_SUBSETS if k in subs), None)
    if gal is None or qry is None:
        raise KeyError(f'test_dataloader subsets {list(subs)}: need one of '
                       f'{GALLERY_SUBSETS} and one of {QUERY_SUBSETS}')
    prefix = (gal.get('data_prefix', None) or {}).get('video', '')
    return gal['ann_file'], qry['ann_file'], prefix


def retrieval_from_features(query: Dict[str, Any],
                            gallery: Dict[str, Any],
                            topk: Sequence[int] = (1, 5, 10, 20)
                            ) -> Dict[str, float]:
    """R@k through :class:`VideoRetrievalMetric` on extracted features.

    Args:
        query / gallery: outputs of :func:`extract_features` (``feats``,
            ``labels``, ``sample_idx``).
    """
    metric = VideoRetrievalMetric(topk=tuple(topk))
    samples = []
    for subset, d in (('test', query), ('train', gallery)):
        for f, lab, idx in zip(d['feats'], d['labels'], d['sample_idx']):
            samples.append(dict(feat=f, gt_label=int(lab),
                                sample_idx=int(idx), subset=subset))
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)




def evaluate_retrieval(cfg_or_model: ConfigLike,
                       checkpoint: Optional[str] = None,
                       gallery_list: Optional[str] = None,
                       query_list: Optional[str] = None,
                       data_prefix: Optional[str] = None,
                       pipeline: Optional[List[dict]] = None,
                       topk: Sequence[int] = (1, 5, 10, 20),
                       batch_size: int = 8,
                       num_workers: int = 0,
                       device: str = 'cpu',
                       min_ratio: float = 0.9,
                       seed: Optional[int] = 0,
                       allow_skip: bool = False,
                       print_table: bool = True,
                       name: Optional[str] = None,
                       logger: Any = None,
                       decoded_cache: Optional[dict] = None
                       ) -> Dict[str, Any]:
    """Zero-shot retrieval R@k of a backbone (see the module docstring).

    Args:
        cfg_or_model: a config (path / Config / dict) whose ``model`` has a
            ``backbone`` and ``extract_feat`` -- a retrieval config
            (``configs/retrieval/*.py``, ``VideoFeatureExtractor``) or a
            pretraining config (``IIVCL``) -- or an already built model (then
            ``pipeline`` is required and the model is used as is).
        checkpoint: weights for ``model.backbone``, loaded by
            ``load_backbone_checkpoint`` (the load report is printed; fails
            when less than ``min_ratio`` of the backbone loads). ``None``:
            random initialisation (seeded by ``seed``), the baseline.
        gallery_list / query_list: ``path label`` list files (paths relative
            to ``data_prefix``); default: the config's test_dataloader
            subsets ('train' gallery, 'test' queries).
        data_prefix: video root.
        pipeline: test pipeline; default: the config's (see
            :func:`~mmiivcl.analysis.features.resolve_pipeline`).
        topk: the k of R@k.
        batch_size / num_workers / device: extraction settings.
        allow_skip: exclude undecodable videos up front (listed in the log)
            instead of failing.
        print_table: print the Markdown table (model and chance rows).
        name: row name in the table (default: checkpoint file or 'random').
        decoded_cache: a dict kept by the caller across calls: each list is
            decoded once (:class:`~mmiivcl.analysis.features.DecodedSamples`,
            keyed by list, prefix, pipeline and ``allow_skip``) and reused by
            later calls. Only for a deterministic test pipeline; ``None``
            (default) decodes on every call.

    Returns:
        dict: ``'R@k'`` floats (percent), ``'chance'`` (dict of R@k),
        ``num_queries``, ``num_gallery``, ``feat_dim``, ``load_report``
        (None without a checkpoint) and ``table`` (str).
    """
    cfg = None if hasattr(cfg_or_model, 'parameters') else load_config(
        cfg_or_model)
    if pipeline is None:
        if cfg is None:
            raise ValueError('pass pipeline= when giving a built model')
        pipeline = resolve_pipeline(cfg)
    if gallery_list is None or query_list is None or data_prefix is None:
        if cfg is None:
            raise ValueError('pass gallery_list, query_list and data_prefix '
                             'when giving a built model')
        g, q, p = lists_from_config(cfg)
        gallery_list = gallery_list or g
        query_list = query_list or q
        data_prefix = p if data_prefix is None else data_prefix
    model, report = build_feature_model(
        cfg if cfg is not None else cfg_or_model, checkpoint, device=device,
        min_ratio=min_ratio, seed=seed, logger=logger)
    feats = {}
    for role, lst in (('gallery', gallery_list), ('query', query_list)):
        if decoded_cache is None:
            ds = build_list_dataset(lst, data_prefix, pipeline, allow_skip)
        else:
            key = (lst, data_prefix, repr(pipeline), bool(allow_skip))
            if key not in decoded_cache:
                decoded_cache[key] = DecodedSamples(build_list_dataset(
                    lst, data_prefix, pipeline, allow_skip))
            ds = decoded_cache[key]
        feats[role] = extract_features(model, ds, batch_size, num_workers,
                                       device)
    metrics = retrieval_from_features(feats['query'], feats['gallery'], topk)
    ql = feats['query']['labels']
    chance = retrieval_chance(ql[ql >= 0], feats['gallery']['labels'], topk)
    if name is None:
        import os.path as osp
        name = osp.basename(checkpoint) if checkpoint else 'random init'
    table = format_retrieval_table({name: metrics, 'chance': chance}, topk)
    dim = int(feats['query']['feats'].shape[1])
    header = (f'Zero-shot retrieval: {int((ql >= 0).sum())} queries '
              f'({query_list}) x {len(feats["gallery"]["labels"])} gallery '
              f'videos ({gallery_list}), backbone feature dim {dim}, cosine '
              'on L2-normalised clip-averaged features')
    if print_table:
        print(header)
        print(table, flush=True)
    out: Dict[str, Any] = dict(metrics)
    out.update(chance=chance, num_queries=int((ql >= 0).sum()),
               num_gallery=len(feats['gallery']['labels']), feat_dim=dim,
               load_report=report, table=table)
    return out
