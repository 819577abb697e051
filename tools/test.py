# Test (evaluate) a checkpoint with an mmiivcl config (mmaction2's flags).
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import mmiivcl  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmaction.registry import RUNNERS  # noqa: E402
from mmiivcl.models.pretrained import (  # noqa: E402
    is_backbone_only_checkpoint, load_backbone_checkpoint, read_checkpoint)
from mmiivcl.utils.launch import prepare_cfg_for_launch  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description='Test with mmiivcl')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (mmengine DictAction)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument(
        '--min-load-ratio', type=float, default=0.9,
        help='with a pretraining / exported checkpoint: smallest fraction of '
        'backbone parameters that must load (see docs/transfer.md)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher (torch.distributed)')
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError('--dump must name a .pkl file')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump]
    prepare_cfg_for_launch(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    load_pretrained_backbone_if_needed(runner, args.checkpoint,
                                       args.min_load_ratio)
    runner.test()


def load_pretrained_backbone_if_needed(runner, checkpoint: str,
                                       min_ratio: float) -> bool:
    """Test-only runs never call ``init_weights``
    (docs/design.md#loading-a-pretrained-backbone), so
    ``model.init_cfg`` does not apply. A pretraining or exported checkpoint
    (``backbone.*`` only, none of the model's other keys) is loaded here
    through the PretrainedBackbone loader, with its report and checks,
    instead of mmengine's silent ``strict=False`` load; a checkpoint of the
    model itself (e.g. a finetuned recognizer) loads normally."""
    ckpt = read_checkpoint(checkpoint)
    if not is_backbone_only_checkpoint(ckpt, runner.model):
        return False
    runner._load_from = None  # Runner.test() would load it silently
    load_backbone_checkpoint(runner.model, ckpt, min_ratio=min_ratio,
                             logger=runner.logger)
    runner.logger.warning(
        f'{checkpoint} holds a pretrained backbone only: every other module '
        '(e.g. the classifier) keeps its initial, untrained weights.')
    return True


if __name__ == '__main__':
    try:
        main()
    except mmiivcl.compat.MissingOpsError as e:  # lite profile, AVA config
        sys.exit(f'error: {e}')
