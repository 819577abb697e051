#!/usr/bin/env python
"""Generate (once) the synthetic motion-class demo video set.

Usage:
    python tools/generate_demo_data.py [OUT_DIR] [--num-per-class 32]
        [--classes move_right move_left ...] [--num-frames 96] [--size 40]
        [--fps 12] [--query-ratio 0.25] [--seed 0] [--drift 0.5]
        [--shots 1] [--looks 8] [--look-bias 0] [--respawn] [--no-clutter]
        [--workers 2] [--force]

Writes OUT_DIR/videos/<class>/*.mp4, classes.txt, all_list.txt,
train_list.txt, query_list.txt (paths relative to OUT_DIR/videos),
manifest.json and a DONE marker. A second call with the same parameters
returns at once. See mmiivcl/datasets/synthetic.py for what the videos show.
"""
import argparse
import importlib.util
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class _HelpFormatter(argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, every flag with its default."""


def _load_synthetic():
    """Import mmiivcl/datasets/synthetic.py alone (numpy + OpenCV only),
    without ``mmiivcl/__init__`` pulling in torch and mmaction2."""
    name = 'mmiivcl_demo_synthetic'
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'mmiivcl', 'datasets', 'synthetic.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # picklable for the worker pool
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    syn = _load_synthetic()
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=_HelpFormatter)
    p.add_argument('out_dir', nargs='?',
                   default=osp.join(ROOT, 'data', 'demo'),
                   help='output folder')
    p.add_argument('--num-per-class', type=int, default=32,
                   help='videos per class')
    p.add_argument('--classes', nargs='+', default=None,
                   choices=syn.MOTION_CLASSES, metavar='CLASS',
                   help='subset of: ' + ' '.join(syn.MOTION_CLASSES))
    p.add_argument('--num-frames', type=int, default=96,
                   help='frames per video')
    p.add_argument('--size', type=int, default=40,
                   help='frame height and width in pixels')
    p.add_argument('--fps', type=float, default=12.0,
                   help='frame rate written into the files')
    p.add_argument('--query-ratio', type=float, default=0.25,
                   help='held-out (query) fraction per class')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of every random draw of the set')
    p.add_argument('--drift', type=float, default=0.5,
                   help='within-shot colour drift strength in [0, 1]')
    p.add_argument('--shots', type=int, default=1,
                   help='shots per video: each shot its own appearance, the '
                   'motion continues across the cuts')
    p.add_argument('--looks', type=int, default=8,
                   help='shared pool of N scenes the shots draw from, the '
                   'camera is each video\'s own (0: every shot its own scene)')
    p.add_argument('--respawn', action=argparse.BooleanOptionalAction,
                   default=False,
                   help='re-place the object at every cut (position, size, '
                   'phase); only the dynamics continue')
    p.add_argument('--clutter', action=argparse.BooleanOptionalAction,
                   default=True,
                   help='textured backgrounds and 2-5 distractor shapes')
    p.add_argument('--look-bias', type=float, default=0.0,
                   help='scene-action correlation: probability that a '
                   "video's look is its class's own (class c owns look "
                   'c %% looks; 0 = looks independent of the class)')
    p.add_argument('--fourcc', default='mp4v',
                   help='OpenCV video codec of the .mp4 files')
    p.add_argument('--workers', type=int, default=None,
                   help='rendering processes (None: min(4, CPU count))')
    p.add_argument('--force', action='store_true',
                   help='regenerate even if an identical set exists')
    p.add_argument('--config', default=None,
                   help="take the generator arguments of a config's "
                   '``demo_data`` (e.g. configs/demo/iivcl_r3d18_demo.py, '
                   'the set tools/run_demo.py makes); flags given here win')
    args = p.parse_args(argv)
    if args.config:  # the config's demo_data as defaults, then parse again
        from mmengine.config import Config
        demo = dict(Config.fromfile(args.config).get('demo_data', {}))
        unknown = set(demo) - set(vars(args))
        if unknown:
            p.error(f'{args.config}: demo_data keys {sorted(unknown)} are '
                    'not generator arguments')
        p.set_defaults(**demo)
        args = p.parse_args(argv)
    syn.generate_demo_dataset(
        args.out_dir, num_per_class=args.num_per_class, classes=args.classes,
        num_frames=args.num_frames, size=args.size, fps=args.fps,
        query_ratio=args.query_ratio, seed=args.seed, drift=args.drift,
        shots=args.shots, looks=args.looks, respawn=args.respawn,
        clutter=args.clutter, look_bias=args.look_bias,
        fourcc=args.fourcc, workers=args.workers,
        force=args.force)


if __name__ == '__main__':
    main()
