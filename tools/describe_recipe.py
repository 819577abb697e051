"""Print what a pretraining config effectively trains with per launch.

    python tools/describe_recipe.py configs/iivcl/r3d50_k400.py \\
        --launch 8:optim_wrapper.accumulative_counts=8 --launch 64

Each ``--launch GPUS[:key=value,...]`` is one column: the effective batch,
the lr after ``auto_scale_lr`` (as tools/train.py applies it), warm-up and
cosine lengths in epochs and optimizer steps, and the key-encoder momentum
per optimizer step (mmiivcl.engine.recipe).
"""
import argparse

from mmengine.config import Config

import mmiivcl  # noqa: F401
from mmiivcl.engine.recipe import describe_launch, recipe_table


def _launch(text):
    gpus, _, opts = text.partition(':')
    pairs = {}
    for kv in filter(None, opts.split(',')):
        k, v = kv.split('=')
        pairs[k] = int(v) if v.lstrip('-').isdigit() else v
    return int(gpus), pairs


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('config', help='pretraining config')
    p.add_argument('--launch', type=_launch, action='append',
                   help='GPUS[:key=value,...] (repeatable; default: 8 GPUs '
                   'with accumulative_counts=8, and 64 GPUs)')
    p.add_argument('--num-videos', type=int, default=240_000,
                   help='training videos (Kinetics-400 train)')
    args = p.parse_args()
    launches = args.launch or [
        (8, {'optim_wrapper.accumulative_counts': 8}), (64, {})]
    rows = []
    for gpus, opts in launches:
        cfg = Config.fromfile(args.config)
        cfg.merge_from_dict(opts)
        rows.append(describe_launch(cfg, gpus, args.num_videos))
    print(recipe_table(rows))


if __name__ == '__main__':
    main()
