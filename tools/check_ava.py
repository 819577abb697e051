"""Pre-flight check of an AVA data root against an AVA detection config.

Run it before hours of training (docs/ava.md). It reads the data paths,
class lists and frame-window settings from the config (``--config``,
default: configs/downstream/ava/r3d50_8x8_ava22.py) and checks, per split:

* class bookkeeping: the label file's class count + 1 (background) equals the
  head's ``num_classes``, datasets and ``AVAMetric`` agree on ``num_classes``,
  ``custom_classes`` and the label file, ``topk`` < ``num_classes``;
* annotation / exclusion / proposal files exist, parse, and agree on video
  ids and timestamps; val/test proposals cover every evaluated keyframe;
* every annotated video has a frame folder whose frames follow
  ``filename_tmpl`` with the expected count (27030 = 901 s x 30 fps for
  mmaction2's 900-1800 s window).

Every failure is printed with the file and the fix; the exit status is 1 if
any failed, 0 otherwise (warnings do not fail).

Example::

    python tools/check_ava.py \
        --config configs/downstream/ava/r3d50_8x8_ava22.py
    python tools/check_ava.py --splits val --cfg-options \
        val_dataloader.dataset.data_prefix.img=/data/ava/rawframes
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmengine.config import Config, DictAction  # noqa: E402

from mmiivcl.ava.checks import (ERROR, AVAProblem,  # noqa: E402
                                         ava_config_problems,
                                         ava_data_problems,
                                         expected_frame_count,
                                         split_specs_from_cfg)

DEFAULT_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs',
                          'downstream', 'ava', 'r3d50_8x8_ava22.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description='Pre-flight check of an AVA data root (see docs/ava.md)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='AVA detection config to read paths and classes from')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, key=value')
    p.add_argument('--splits', nargs='+', default=['train', 'val', 'test'],
                   choices=['train', 'val', 'test'],
                   help='splits to check (test is skipped when equal to val)')
    p.add_argument('--skip-frames', action='store_true',
                   help='do not scan the frame folders')
    p.add_argument('--frame-tolerance', type=int, default=0,
                   help='allowed |frame count - expected|')
    return p.parse_args(argv)


def run_checks(cfg: Config, splits=('train', 'val', 'test'),
               check_frames: bool = True, frame_tolerance: int = 0,
               out=print) -> List[AVAProblem]:
    """Run the config and data checks, print the findings, return them."""
    problems = []
    specs = [s for s in split_specs_from_cfg(cfg) if s.split in splits]
    if not specs:
        problems.append(AVAProblem(
            'config', f'no AVADataset found for splits {list(splits)}',
            'pass an AVA detection config (configs/downstream/ava/)'))
    head = cfg.get('model', {}).get('roi_head', {}).get('bbox_head', {})
    out(f'config: {cfg.filename}')
    out(f'head num_classes: {head.get("num_classes")}')
    found = ava_config_problems(cfg)
    for p in found:
        out(str(p))
    problems += found
    for spec in specs:
        stats = {}
        out(f'--- {spec.split}: {spec.ann_file}')
        out(f'    frames: {spec.frame_dir}/<video_id>/'
            f'{spec.filename_tmpl} (expect {expected_frame_count(spec)} '
            f'per video)')
        found = ava_data_problems(spec, check_frames=check_frames,
                                  frame_tolerance=frame_tolerance,
                                  stats=stats)
        if stats:
            out('    ' + ', '.join(f'{k}={v}' for k, v in stats.items()))
        for p in found:
            out(str(p))
        problems += found
    n_err = sum(p.level == ERROR for p in problems)
    n_warn = len(problems) - n_err
    out(f'{"FAILED" if n_err else "OK"}: {n_err} error(s), '
        f'{n_warn} warning(s)')
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    problems = run_checks(cfg, args.splits, not args.skip_frames,
                          args.frame_tolerance)
    return 1 if any(p.level == ERROR for p in problems) else 0


if __name__ == '__main__':
    sys.exit(main())
