#!/usr/bin/env python
"""Zero-shot video retrieval R@1/5/10/20 of a backbone (no training).

Test videos (queries) rank the train videos (gallery) by cosine similarity of
backbone features averaged over the clips/frames the config's test pipeline
samples; a query is a hit at k if one of its k nearest gallery videos has its
class. Weights load through the checkpoint argument with the load report
(docs/design.md#loading-a-pretrained-backbone); without a checkpoint the
backbone is random (a baseline; give
several --seeds for mean ± std).

Examples:
    python tools/retrieval.py configs/retrieval/ucf101_r3d50.py CKPT
    python tools/retrieval.py configs/retrieval/hmdb51_r2d50_vclr.py CKPT
    python tools/retrieval.py configs/demo/iivcl_r3d18_demo_monitor.py \\
        work_dirs/iivcl_r3d18_demo_monitor/epoch_36.pth
    python tools/retrieval.py configs/demo/iivcl_r3d18_demo_monitor.py \\
        --seeds 0 1 2            # random-init baseline, mean ± std
    python tools/retrieval.py CONFIG CKPT --gallery-list L1 --query-list L2 \\
        --data-prefix VIDEO_ROOT
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import mmiivcl  # noqa: E402,F401
from mmiivcl.utils.cli import HelpFormatter, add_feature_args  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmiivcl.retrieval import (evaluate_retrieval,  # noqa: E402
                               format_retrieval_table, recall_mean_std)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('config', help='retrieval or pretraining config')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='checkpoint with backbone.* weights (omit: random)')
    p.add_argument('--gallery-list', help='gallery list (default: config)')
    p.add_argument('--query-list', help='query list (default: config)')
    p.add_argument('--data-prefix', help='video root (default: config)')
    p.add_argument('--topk', type=int, nargs='+', default=[1, 5, 10, 20],
                   help='k of the R@k columns')
    add_feature_args(p)
    p.add_argument('--seeds', type=int, nargs='+', default=[0],
                   help='init seeds (several only make sense without a '
                   'checkpoint: mean ± std of a random backbone)')
    p.add_argument('--allow-skip', action='store_true',
                   help='exclude undecodable videos (listed) instead of '
                   'failing')
    p.add_argument('--out', help='write the results as JSON here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    runs = []
    for seed in args.seeds:
        runs.append(evaluate_retrieval(
            cfg, args.checkpoint, args.gallery_list, args.query_list,
            args.data_prefix, topk=args.topk, batch_size=args.batch_size,
            num_workers=args.num_workers, device=args.device,
            min_ratio=args.min_ratio, seed=seed, allow_skip=args.allow_skip,
            print_table=len(args.seeds) == 1))
    name = osp.basename(args.checkpoint) if args.checkpoint else 'random init'
    if len(runs) > 1:
        ms = recall_mean_std(runs, args.topk)
        print(f'{len(runs)} seeds {args.seeds}: mean ± std')
        print(format_retrieval_table(
            {name: ms, 'chance': runs[0]['chance']}, args.topk))
    if args.out:
        keep = [{k: v for k, v in r.items() if k != 'load_report'}
                for r in runs]
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           seeds=args.seeds, runs=keep), f, indent=2,
                      default=str)
    return runs


if __name__ == '__main__':
    main()
