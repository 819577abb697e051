"""The main job: IIVCL pretraining on generated videos, then retrieval.

1. generate (once) the synthetic motion-pattern video set (data/demo);
2. for each seed, pretrain IIVCL on its train split on CPU with
   tools/train.py (mmengine progress and logs), unless a finished run exists;
3. zero-shot retrieval: held-out query videos search the train gallery with
   the learned backbone and with a randomly initialised one (same seed), R@1
   and R@5, mean +- std over seeds, chance printed beside them.

    python tools/run_demo.py [--seeds 0 1 2] [--epochs N] [--jobs J]
                             [--work-dir DIR]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = osp.join(ROOT, 'configs', 'demo', 'iivcl_r3d18_demo.py')


class _HelpFormatter(argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, every flag with its default."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=_HelpFormatter)
    p.add_argument('--config', default=CONFIG,
                   help='demo pretraining config')
    p.add_argument('--data-root', default=None,
                   help='generated data set (None: the config\'s '
                   'data_root, data/demo)')
    p.add_argument('--work-dir', default=None,
                   help='None: work_dirs/demo for the default config, '
                   'work_dirs/demo_<config name> for another')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                   help='pretraining (and random-init) seeds')
    p.add_argument('--epochs', type=int, default=None,
                   help='pretraining epochs (None: the config\'s)')
    p.add_argument('--jobs', type=int, default=None,
                   help='seeds pretrained side by side (None: all of them, '
                   'up to the cores, 3 on 1-2 cores; each gets cores/jobs '
                   'threads)')
    p.add_argument('--force', action='store_true',
                   help='retrain even if a finished run exists')
    return p.parse_args()


def train_command(config, data_root, work_dir, seed, epochs, cfg):
    """The ``tools/train.py`` command line of one seed's pretraining: the
    config's data paths, epochs and checkpoint interval overridden, and
    every LR phase after the 1-epoch warm-up refit to ``epochs``."""
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
           '--work-dir', work_dir, '--seed', str(seed), '--cfg-options',
           f'train_dataloader.dataset.ann_file={data_root}/train_list.txt',
           f'train_dataloader.dataset.data_prefix.video={data_root}/videos',
           f'train_cfg.max_epochs={epochs}',
           f'default_hooks.checkpoint.interval={epochs}']
    # end > begin = 1 even for a 1-epoch run (where the phase never starts)
    for i, sched in enumerate(cfg.get('param_scheduler', [])[1:], 1):
        cmd.append(f'param_scheduler.{i}.end={max(epochs, 2)}')
        if 'T_max' in sched:
            cmd.append(f'param_scheduler.{i}.T_max={max(epochs - 1, 1)}')
    return cmd


def pretrain_all(args, epochs, cfg):
    """Pretrain every seed that has no finished run, ``--jobs`` at a time
    (one-line-per-epoch echo; full logs in ``<work dir>/seed<s>/
    train_console.log``); return the final checkpoint per seed."""
    from mmiivcl.experiments.runs import (default_jobs, run_parallel,
                                          threads_per_job)
    ckpts, specs = {}, []
    for seed in args.seeds:
        wd = osp.join(args.work_dir, f'seed{seed}')
        ckpts[seed] = osp.join(wd, f'epoch_{epochs}.pth')
        if osp.isfile(ckpts[seed]) and not args.force:
            print(f'[demo] seed {seed}: reusing {ckpts[seed]}', flush=True)
            continue
        os.makedirs(wd, exist_ok=True)
        specs.append(dict(
            cmd=train_command(args.config, args.data_root, wd, seed, epochs,
                              cfg),
            log=osp.join(wd, 'train_console.log'), label=f'seed {seed}',
            epochs=epochs))
    if not specs:
        return ckpts
    jobs = args.jobs or default_jobs(len(specs))
    threads = threads_per_job(jobs)
    print(f'[demo] pretraining IIVCL for seed(s) '
          f'{", ".join(s["label"][5:] for s in specs)} -> {args.work_dir}: '
          f'{jobs} at a time, {threads} thread(s) each (logs: '
          'seed<s>/train_console.log)', flush=True)
    for spec, (rc, _) in zip(specs, run_parallel(specs, jobs=jobs,
                                                 threads=threads, root=ROOT)):
        if rc != 0:
            raise SystemExit(f'[demo] {spec["label"]}: training failed (exit '
                             f'{rc}); see {spec["log"]}')
    return ckpts


def main():
    args = parse_args()
    t0 = time.time()
    import mmiivcl  # noqa: F401
    from mmengine.config import Config
    from mmiivcl.datasets.synthetic import generate_demo_dataset
    cfg = Config.fromfile(args.config)
    if args.data_root is None:
        args.data_root = osp.join(ROOT, cfg.get('data_root', 'data/demo'))
    if args.work_dir is None:
        from mmiivcl.experiments.demo import default_work_dir
        args.work_dir = default_work_dir(args.config)
    # the generator's parameters: its defaults unless the config has
    # ``demo_data = dict(...)``
    generate_demo_dataset(args.data_root, **cfg.get('demo_data', {}))
    epochs = args.epochs or cfg.train_cfg.max_epochs
    ckpts = pretrain_all(args, epochs, cfg)
    t_train = time.time() - t0

    import numpy as np
    from mmiivcl.retrieval import evaluate_retrieval
    lists = dict(gallery_list=f'{args.data_root}/train_list.txt',
                 query_list=f'{args.data_root}/query_list.txt',
                 data_prefix=f'{args.data_root}/videos',
                 pipeline=cfg.test_pipeline, topk=(1, 5), batch_size=16,
                 print_table=False,
                 # the test pipeline is deterministic: the videos are decoded
                 # once for all seeds and both backbones
                 decoded_cache={})
    rows = {'IIVCL (learned)': [], 'random init': []}
    chance = None
    for s in args.seeds:
        for name, ck in (('IIVCL (learned)', ckpts[s]), ('random init', None)):
            r = evaluate_retrieval(args.config, ck, seed=s, name=name, **lists)
            rows[name].append({k: r[k] for k in ('R@1', 'R@5')})
            chance = r['chance']
            print(f'[demo] seed {s} {name}: R@1 {r["R@1"]:.1f}  '
                  f'R@5 {r["R@5"]:.1f}', flush=True)
    from mmiivcl.experiments.stats import mean_std
    stats = {name: {k: mean_std([r[k] for r in rs]) for k in ('R@1', 'R@5')}
             for name, rs in rows.items()}
    n_q = sum(1 for _ in open(lists['query_list']))
    n_g = sum(1 for _ in open(lists['gallery_list']))
    lines = [
        '',
        f'Zero-shot retrieval on the generated demo set: {n_q} held-out '
        f'queries x {n_g} train gallery videos, {len(args.seeds)} seeds '
        f'({", ".join(map(str, args.seeds))}), {epochs} pretraining epochs',
        '',
        '| backbone | R@1 (%) | R@5 (%) |',
        '|---|---:|---:|',
    ]
    from mmiivcl.experiments.stats import fmt_mean_std
    for name, st in stats.items():
        lines.append(f'| {name} | {fmt_mean_std(*st["R@1"])} | '
                     f'{fmt_mean_std(*st["R@5"])} |')
    lines.append(f'| chance | {chance["R@1"]:.1f} | {chance["R@5"]:.1f} |')
    (ml, sl), (mr, sr) = (stats['IIVCL (learned)']['R@1'],
                          stats['random init']['R@1'])
    spread = max(sl, sr)  # NaN with one seed
    ratio = (f'{(ml - mr) / spread:.1f} x the larger seed std '
             f'({spread:.1f}, sample std over seeds)' if spread > 0 else
             'no seed std (one seed)')
    lines += ['', f'R@1 gain over random init: {ml - mr:+.1f} points = '
              f'{ratio}',
              f'wall time: {time.time() - t0:.0f} s (pretraining '
              f'{t_train:.0f} s)']
    text = '\n'.join(lines)
    print(text, flush=True)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(per_seed=rows, stats=stats, chance=chance,
                       seeds=args.seeds, epochs=epochs), f, indent=1)


if __name__ == '__main__':
    main()
