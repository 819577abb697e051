#!/usr/bin/env python
"""t-SNE of backbone features of a labelled video list, coloured by class.

Features: the config's model backbone (weights from CHECKPOINT through the
backbone loader, whose load report is printed; without a checkpoint the
backbone is random), globally average-pooled and averaged over the clips of
the config's test pipeline, L2-normalised; 2-D t-SNE (scikit-learn); PNG with
one colour per class and a legend.

Examples:
    python tools/visualize_tsne.py configs/demo/iivcl_r3d18_demo_monitor.py \\
        work_dirs/iivcl_r3d18_demo_monitor/epoch_36.pth \\
        --list data/demo/all_list.txt --data-prefix data/demo/videos \\
        --classes data/demo/classes.txt --out tsne.png
    python tools/visualize_tsne.py configs/retrieval/ucf101_r3d50.py CKPT \\
        --list data/ucf101/ucf101_val_split_1_videos.txt \\
        --data-prefix data/ucf101/videos --out tsne_ucf.png
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import mmiivcl  # noqa: E402,F401
from mmiivcl.utils.cli import HelpFormatter, add_feature_args  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmiivcl.analysis.features import (build_feature_model,  # noqa: E402
                                       build_list_dataset, extract_features,
                                       read_class_names, resolve_pipeline)
from mmiivcl.analysis.tsne import plot_embedding, tsne_embedding  # noqa


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('config', help='retrieval or pretraining config (model '
                   'and test pipeline)')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='checkpoint with backbone.* weights (omit: random)')
    p.add_argument('--list', required=True, help='"path label" list file')
    p.add_argument('--data-prefix', default='', help='video root')
    p.add_argument('--classes', help='class names, one per line')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--title', default=None,
                   help='figure title (None: t-SNE, <checkpoint name>)')
    p.add_argument('--perplexity', type=float, default=30.0,
                   help='t-SNE perplexity (capped at (N - 1) / 3)')
    p.add_argument('--seed', type=int, default=0,
                   help='t-SNE and random-init seed')
    add_feature_args(p)
    p.add_argument('--save-features', help='also save feats/labels (.npz)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, _ = build_feature_model(cfg, args.checkpoint, device=args.device,
                                   min_ratio=args.min_ratio, seed=args.seed)
    ds = build_list_dataset(args.list, args.data_prefix,
                            resolve_pipeline(cfg))
    out = extract_features(model, ds, args.batch_size, args.num_workers,
                           args.device)
    pts = tsne_embedding(out['feats'], args.perplexity, args.seed)
    title = args.title
    if title is None:
        title = (f't-SNE, {osp.basename(args.checkpoint)}'
                 if args.checkpoint else 't-SNE, random init')
    d = osp.dirname(osp.abspath(args.out))
    os.makedirs(d, exist_ok=True)
    plot_embedding(pts, out['labels'], args.out,
                   read_class_names(args.classes), title)
    if args.save_features:
        np.savez(args.save_features, feats=out['feats'],
                 labels=out['labels'], tsne=pts)
    print(f'{len(pts)} videos, feature dim {out["feats"].shape[1]} -> '
          f'{args.out}')
    return args.out


if __name__ == '__main__':
    main()
