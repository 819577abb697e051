#!/usr/bin/env python
"""Finetune from the demo's learned backbone and from random init; print both.

    python tools/run_demo.py --config configs/demo/iivcl_r3d18_demo_1scene.py
    python tools/compare_finetune.py \
        [--checkpoint CKPT [CKPT ...]] \
        [--config configs/downstream/demo/finetune_r3d18_demo_1scene.py] \
        [--seeds 0 1 2] [--epochs N] [--work-dir work_dirs/compare_finetune]

For every seed both runs share everything (schedule, data order,
augmentation draws, head initialisation) except the backbone's starting
weights: the pretrained checkpoint (loaded by PretrainedBackbone, with its
report) or the backbone's own random init. Each run then reports top-1 on the
held-out query split; the script prints per-seed values, mean +- std and
chance.

``--checkpoint`` takes one checkpoint for every seed or one per seed. Without
it, seed ``s`` uses the latest checkpoint in ``--pretrain-dir``/seed{s}
(default: the single-scene demo pretraining of ``tools/run_demo.py``), so
each finetuning seed starts from the pretraining of the same seed.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional

TOOLS = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(TOOLS)
sys.path.insert(0, ROOT)
import mmiivcl  # noqa: E402,F401
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner, find_latest_checkpoint  # noqa: E402

from mmiivcl.experiments.demo import default_work_dir  # noqa: E402
from mmiivcl.experiments.stats import fmt_mean_std, mean_std  # noqa: E402
from mmiivcl.utils.cli import HelpFormatter  # noqa: E402

DEFAULT_CONFIG = osp.join(ROOT, 'configs/downstream/demo/'
                          'finetune_r3d18_demo_1scene.py')
#: the pretraining whose seeds the default comparison finetunes
PRETRAIN_CONFIG = 'configs/demo/iivcl_r3d18_demo_1scene.py'
DEFAULT_PRETRAIN_DIR = default_work_dir(osp.join(ROOT, PRETRAIN_CONFIG))
PRETRAIN_COMMAND = f'python tools/run_demo.py --config {PRETRAIN_CONFIG}'


def _count_lines(path: str) -> int:
    with open(path) as f:
        return sum(1 for line in f if line.strip())


def run_once(cfg: Config, checkpoint: Optional[str], seed: int,
             work_dir: str, name: str) -> float:
    """Finetune + test one (init, seed); returns top-1 in percent."""
    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.experiment_name = name
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.model.init_cfg.checkpoint = checkpoint
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=10**6, save_last=False,
                                        save_best=None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    return 100.0 * float(metrics['acc/top1'])


def _fmt(values: List[float]) -> str:
    """Mean +- sample std over seeds (the std is left out for one seed)."""
    return f'{fmt_mean_std(*mean_std(values)):>12}'


def _resolve_checkpoints(p: argparse.ArgumentParser,
                         args: argparse.Namespace) -> Dict[int, str]:
    """Seed -> checkpoint: ``--checkpoint`` (one for all seeds or one per
    seed), else the latest in ``--pretrain-dir``/seed<s>."""
    if args.checkpoint is not None:
        if len(args.checkpoint) not in (1, len(args.seeds)):
            p.error(f'--checkpoint: give 1 checkpoint or one per seed '
                    f'({len(args.seeds)}), got {len(args.checkpoint)}')
        paths = args.checkpoint * (len(args.seeds) if len(
            args.checkpoint) == 1 else 1)
        ckpts = dict(zip(args.seeds, paths))
    else:
        ckpts = {}
        for s in args.seeds:
            d = osp.join(args.pretrain_dir, f'seed{s}')
            ck = find_latest_checkpoint(d) if osp.isdir(d) else None
            if ck is None:
                p.error(f'no --checkpoint given and no checkpoint in {d}; '
                        f'pretrain the demo first: {PRETRAIN_COMMAND}')
            ckpts[s] = ck
    for s, ck in ckpts.items():
        if not osp.isfile(ck):
            p.error(f'checkpoint not found: {ck}')
    return ckpts


def main(argv=None) -> Dict[str, List[float]]:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='downstream finetune config (both runs)')
    p.add_argument('--checkpoint', nargs='+', default=None,
                   help='pretraining or exported checkpoint(s): one for '
                   'every seed or one per seed (None: the latest in '
                   '--pretrain-dir/seed<s>)')
    p.add_argument('--pretrain-dir', default=DEFAULT_PRETRAIN_DIR,
                   help='tools/run_demo.py work dir with seed<s>/ folders')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                   help='finetuning seeds (each from the same seed\'s '
                   'pretraining)')
    p.add_argument('--epochs', type=int, default=None,
                   help='override the config\'s max_epochs (same for both)')
    p.add_argument('--work-dir', default='work_dirs/compare_finetune',
                   help='finetuning runs go to WORK_DIR/<init>_seed<s>')
    p.add_argument('--out', default=None, help='also write a JSON summary')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides for both runs (e.g. data_root)')
    args = p.parse_args(argv)

    ckpts = _resolve_checkpoints(p, args)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = args.epochs
        for sch in cfg.get('param_scheduler', None) or []:
            if sch.get('type') == 'CosineAnnealingLR':
                sch.update(T_max=args.epochs, end=args.epochs)
    train_ann = cfg.train_dataloader.dataset.ann_file
    test_ann = cfg.test_dataloader.dataset.ann_file
    num_classes = cfg.model.cls_head.num_classes
    os.makedirs(args.work_dir, exist_ok=True)

    results: Dict[str, List[float]] = {'pretrained': [], 'random': []}
    for seed in args.seeds:
        for key, init in (('pretrained', ckpts[seed]), ('random', None)):
            name = f'{key}_seed{seed}'
            top1 = run_once(cfg, init, seed,
                            osp.join(args.work_dir, name), name)
            results[key].append(top1)
            print(f'[compare_finetune] {name}: top-1 {top1:.1f} %',
                  flush=True)

    epochs = cfg.train_cfg.max_epochs
    lines = [
        '',
        f'Finetune top-1 (%) on {test_ann} ({_count_lines(test_ann)} held-out '
        f'videos, {num_classes} classes), trained on {train_ann} '
        f'({_count_lines(train_ann)} videos), {epochs} epochs, seeds '
        + ' '.join(map(str, args.seeds)),
        f'  {"backbone init":<34}' + ''.join(
            f'{"seed " + str(s):>9}' for s in args.seeds) + '   mean ± std',
    ]
    labels = {'pretrained': 'IIVCL demo backbone', 'random': 'random init'}
    for key in ('pretrained', 'random'):
        lines.append(f'  {labels[key]:<34}' + ''.join(
            f'{v:9.1f}' for v in results[key]) + '   ' + _fmt(results[key]))
    lines.append(f'  {"chance":<34}{100.0 / num_classes:9.1f}')
    delta = statistics.mean(results['pretrained']) - statistics.mean(
        results['random'])
    wins = sum(a > b for a, b in zip(results['pretrained'],
                                     results['random']))
    lines.append(f'  pretrained - random: {delta:+.1f} points; pretrained '
                 f'higher on {wins} of {len(args.seeds)} seeds')
    lines.append('  checkpoints: ' + ', '.join(
        f'seed {s}: {ckpts[s]}' for s in args.seeds))
    print('\n'.join(lines), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(results, checkpoints=[ckpts[s] for s in args.seeds],
                           seeds=args.seeds,
                           epochs=epochs, chance=100.0 / num_classes), f,
                      indent=1)
    return results


if __name__ == '__main__':
    main()
