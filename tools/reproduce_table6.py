#!/usr/bin/env python
"""The IIVCL paper's Table 6 at small scale: rho-MoCo vs IIVCL vs NN-only.

One command pretrains the three loss weightings of Eq.5 from the same seeds

    (lambda_intra, lambda_NN) = (1, 0) rho-MoCo, (1, 1) IIVCL, (0, 1) NN only

on the project's generated motion-class videos (data/demo, made once) or on
your own labelled videos, then evaluates every pretrained backbone on
held-out videos:

* zero-shot retrieval R@1 / R@5: query_list videos search the train_list
  gallery (cosine, clip-averaged backbone features; no training);
* linear probe top-1: a logistic regression on the frozen backbone's
  features of the train_list videos, tested on the query_list videos
  (features extracted once and cached: a *feature-cache* linear probe, not
  mmaction2's SGD linear recipe);

over several seeds (mean +- sample std), beside a randomly initialised
backbone and chance. It also reads the NN statistics logged at every
pretraining iteration (NNQueueStatsHook; QueueNNProbeHook on the intra queue
for rho-MoCo, which has no NN queue) and draws the NN label-agreement curve
(a Fig. 3b analogue in numbers). Finally it writes a report page (the table, the
figure, the command, the machine, the date and a reading generated from the
numbers; no number in it is typed by hand): into the work dir, or with --doc
into the committed docs/reproduction.md.

Finished runs are reused (a run is finished when its last checkpoint exists
and its resolved config is unchanged); an interrupted run resumes from its
last epoch checkpoint; --force redoes everything.

    python tools/reproduce_table6.py --doc                # 3 seeds, defaults;
                                                          # docs/reproduction.md
    python tools/reproduce_table6.py --seeds 0 --epochs 4  # a quick look (page
                                                          # in work_dirs/table6)
    python tools/reproduce_table6.py --video-folder DIR    # DIR/<class>/*.mp4
    python tools/reproduce_table6.py --train-list T --query-list Q \\
        --video-root V                                     # "path label" lists

Default budget (2-core CPU, machine not shared): 9 pretrainings x 16 epochs
x 30 iterations, 3 side by side (--jobs), + 12 feature extractions of 640
videos; measured 24.4 min wall on 2026-12-02 (AMD EPYC).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import shlex
import sys
import time
from typing import Any, Dict, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmiivcl.experiments.paths import rel as _rel  # noqa: E402
from mmiivcl.utils.cli import HelpFormatter  # noqa: E402
from mmiivcl.experiments.runs import (default_jobs,  # noqa: E402
                                      find_transform, fit_schedule,
                                      pretrain_many, threads_per_job)
from mmiivcl.experiments.table6 import (  # noqa: E402
    SETTING_KEYS, SETTINGS, _jsonable, aggregate, chance_levels, draw_figure,
    evaluate_references, evaluate_runs, machine_info, make_run_config,
    plan_training, reading, results_table, write_doc)
from mmiivcl.experiments.table6_data import (generated_set,  # noqa: E402
                                             lists_from_folder, load_lists)

CONFIG = osp.join(ROOT, 'configs', 'demo', 'table6_r3d18_demo.py')
#: The committed report page (written only with ``--doc``) and its figure.
DOC = osp.join(ROOT, 'docs', 'reproduction.md')
FIGURE_NAME = 'table6_nn_agreement.png'


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                   help='pretraining seeds (one run per seed and setting; '
                   'also the random-init seeds)')
    p.add_argument('--epochs', type=int, default=None,
                   help='pretraining epochs per run (None: the config\'s, '
                   '16 for the demo recipe); the LR schedule is fitted to '
                   'it')
    p.add_argument('--settings', nargs='+', choices=SETTING_KEYS,
                   default=list(SETTING_KEYS),
                   help='loss weightings to run (rho_moco = (1, 0), iivcl '
                   '= (1, 1), nn_only = (0, 1))')
    p.add_argument('--config', default=CONFIG,
                   help='base pretraining config (lambdas set per run)')
    p.add_argument('--work-dir', default=None,
                   help='runs, feature cache, results.md/json; also the '
                   'report page and figure unless --doc is given (None: '
                   'work_dirs/table6, or work_dirs/table6_look_bias<P>)')
    g = p.add_argument_group('data (default: the generated demo set)')
    g.add_argument('--data-root', default=None,
                   help='generated demo set (made here unless a complete set '
                   'exists; None: data/demo, or data/demo_look_bias<P> with '
                   '--look-bias P)')
    g.add_argument('--look-bias', type=float, default=0.0,
                   help='the generated set with scene-action correlation: '
                   '10 looks, class c owns look c, and a video takes its '
                   "class's look with this probability (0: the default set, "
                   'looks independent of the class)')
    g.add_argument('--video-folder', default=None,
                   help='your labelled videos as DIR/<class>/<video>; a '
                   'class-stratified query split is written to the work dir')
    g.add_argument('--query-ratio', type=float, default=0.25,
                   help='held-out fraction per class for --video-folder')
    g.add_argument('--train-list', default=None,
                   help='"path label" list: pretraining set and gallery')
    g.add_argument('--query-list', default=None,
                   help='"path label" list: held-out queries / probe test')
    g.add_argument('--video-root', default=None,
                   help='folder the list paths are relative to')
    g = p.add_argument_group('training')
    g.add_argument('--batch-size', type=int, default=None,
                   help='videos per step (None: the config\'s; lowered '
                   'for small sets)')
    g.add_argument('--queue-len', type=int, default=None,
                   help='queue rows (None: the config\'s, lowered so the '
                   'queue holds fewer than half the training videos)')
    g.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides of the base config (before the lambdas)')
    g.add_argument('--verbose', action='store_true',
                   help='echo every training log line (otherwise one per '
                   'epoch)')
    g = p.add_argument_group('evaluation and report')
    g.add_argument('--probe-c', type=float, default=1.0,
                   help='inverse L2 strength of the linear probe')
    g.add_argument('--eval-batch-size', type=int, default=16,
                   help='videos per feature-extraction batch')
    g.add_argument('--eval-workers', type=int, default=2,
                   help='data loader workers of the feature extraction')
    g.add_argument('--doc', nargs='?', const=DOC, default=None,
                   help='write the report page here; --doc alone writes '
                   f'the committed page {_rel(DOC)} (None: '
                   'WORK_DIR/reproduction.md)')
    g.add_argument('--figure', default=None,
                   help='NN label-agreement figure (None: '
                   f'figures/{FIGURE_NAME} next to the report page)')
    p.add_argument('--jobs', type=int, default=None,
                   help='pretraining runs side by side (None: as many as '
                   'the cores, 3 on 1-2 cores; each gets cores/jobs threads)')
    p.add_argument('--force', action='store_true',
                   help='redo every pretraining and evaluation')
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error('--epochs must be >= 1')
    if (args.train_list is None) != (args.query_list is None):
        p.error('--train-list and --query-list go together')
    if args.train_list and args.video_root is None:
        p.error('--train-list needs --video-root')
    if args.train_list and args.video_folder:
        p.error('use either --video-folder or --train-list/--query-list')
    if not 0 <= args.look_bias <= 1:
        p.error('--look-bias must be in [0, 1]')
    if args.look_bias and (args.train_list or args.video_folder):
        p.error('--look-bias makes a generated set; not with your own videos')
    suffix = f'_look_bias{args.look_bias:g}' if args.look_bias else ''
    if args.work_dir is None:
        args.work_dir = osp.join(ROOT, 'work_dirs', 'table6' + suffix)
    if args.doc is None:
        args.doc = osp.join(args.work_dir, 'reproduction.md')
    if args.figure is None:
        args.figure = osp.join(osp.dirname(osp.abspath(args.doc)), 'figures',
                               FIGURE_NAME.replace('.png', suffix + '.png'))
    args.seeds = list(dict.fromkeys(args.seeds))
    args.settings = [k for k in SETTING_KEYS if k in args.settings]
    return args


def resolve_data(args, demo_data: Optional[dict] = None
                 ) -> Dict[str, Any]:
    """Lists, video root, class names and a one-line description."""
    if args.train_list:
        d = dict(train_list=osp.abspath(args.train_list),
                 query_list=osp.abspath(args.query_list),
                 video_root=osp.abspath(args.video_root), classes=None,
                 source=f'your lists ({args.train_list}, {args.query_list})')
    elif args.video_folder:
        paths = lists_from_folder(args.video_folder,
                                  osp.join(args.work_dir, 'data_lists'),
                                  args.query_ratio)
        d = dict(train_list=paths['train_list'],
                 query_list=paths['query_list'],
                 video_root=osp.abspath(args.video_folder),
                 classes=paths['classes'],
                 source=f'your video folder {args.video_folder} (class '
                 f'sub-folders; {args.query_ratio:g} of each class held out)')
    else:
        from mmiivcl.datasets.synthetic import is_generated
        root = osp.abspath(args.data_root or osp.join(
            ROOT, 'data', 'demo' if not args.look_bias else
            f'demo_look_bias{args.look_bias:g}'))
        d = generated_set(root, demo_data, args.look_bias,
                          make=args.data_root is None or
                          not is_generated(root))
    return load_lists(d)


def main(argv=None) -> Dict[str, Any]:
    t_start = time.time()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import mmiivcl  # noqa: F401  (compat patches + registration)
    from mmengine.config import Config
    machine = machine_info()
    base = Config.fromfile(args.config)
    if args.cfg_options:
        base.merge_from_dict(args.cfg_options)
    data = resolve_data(args, base.get('demo_data'))
    if args.epochs is None:
        args.epochs = int(base.train_cfg.max_epochs)
    plan = plan_training(base, len(data['train']), args.batch_size,
                         args.queue_len)
    n_runs = len(args.seeds) * len(args.settings)
    print(f'[table6] {len(data["train"])} training / {len(data["query"])} '
          f'held-out videos, {data["num_classes"]} classes; {n_runs} runs of '
          f'{args.epochs} epochs x {plan["iters_per_epoch"]} iterations '
          f'(batch {plan["batch_size"]}, queue {plan["queue_len"]})',
          flush=True)

    # ---- pretraining: seeds outer, so an interrupted run has all settings
    runs: Dict[Tuple[str, int], Dict[str, Any]] = {}
    specs = []
    for seed in args.seeds:
        for k in args.settings:
            setting = next(s for s in SETTINGS if s['key'] == k)
            cfg = make_run_config(base, setting, seed, args.epochs, plan,
                                  data)
            specs.append(dict(key=(k, seed), cfg=cfg,
                              run_dir=osp.join(args.work_dir, k,
                                               f'seed{seed}'),
                              label=f'{setting["name"]} seed {seed}'))
    jobs = args.jobs or default_jobs(len(specs))
    threads = threads_per_job(jobs)
    print(f'[table6] {jobs} run(s) at a time, {threads} thread(s) each',
          flush=True)
    t0 = time.time()
    results = pretrain_many(specs, args.epochs, args.force, args.verbose,
                            root=ROOT, jobs=jobs, threads=threads)
    for spec, r in zip(specs, results):
        r['run_dir'] = spec['run_dir']
        runs[spec['key']] = r
    trained = [r for r in results if not r['reused']]
    t_train = time.time() - t0 if trained else 0.0

    # ---- evaluation (features cached per run)
    t0 = time.time()
    from mmiivcl.analysis.features import resolve_pipeline
    pipeline = resolve_pipeline(base)
    per_seed, per_seed_curves, random_init = evaluate_runs(
        runs, args.seeds, args.settings, data, pipeline, args.work_dir,
        plan['iters_per_epoch'], batch_size=args.eval_batch_size,
        workers=args.eval_workers, force=args.force, probe_c=args.probe_c)
    # no network: what the scene alone and the motion alone say
    references = evaluate_references(
        data, osp.join(args.work_dir, 'references', 'features.npz'),
        args.force, args.probe_c)
    for ref in references:
        print(f'[table6] {ref["name"]}: R@1 {ref["R@1"]:.1f}  linear '
              f'{ref["linear"]:.1f}', flush=True)
    t_eval = time.time() - t0

    # ---- aggregate, report
    bb = base.model.backbone
    aug = find_transform(base.train_dataloader.dataset.get('pipeline'),
                         'ClipAugment') or {}
    pair = find_transform(base.train_dataloader.dataset.get('pipeline'),
                          'SampleClipPair') or {}
    sf = (find_transform(pipeline, 'OrderedSampleFrames')
          or find_transform(pipeline, 'SampleFrames') or {})
    results: Dict[str, Any] = dict(
        seeds=args.seeds,
        per_seed=per_seed,
        per_seed_curves=per_seed_curves,
        random_init=random_init,
        references=references,
        chance=chance_levels(data),
        variant=dict(look_bias=float(data.get('look_bias', 0.0))),
        machine=machine,
        python=_rel(sys.executable),
        date=datetime.datetime.now().astimezone().strftime(
            '%Y-%m-%d %H:%M %Z'),
        command='python tools/reproduce_table6.py' + (
            ' ' + shlex.join(argv) if argv else ''),
        setup=dict(
            source=data['source'], num_train=len(data['train']),
            num_query=len(data['query']), num_classes=data['num_classes'],
            backbone=(f'{bb.get("type")}-{bb.get("depth", "")} (base '
                      f'{bb.get("base_channels", 64)} channels)'),
            feat_dim=per_seed[args.settings[0]][0]['feat_dim'],
            rho=plan['rho'],
            clip=(f'{pair.get("clip_len", "?")} frames (stride '
                  f'{pair.get("frame_interval", "?")}) at '
                  f'{aug.get("crop_size", "?")}² px'),
            batch_size=plan['batch_size'], queue_len=plan['queue_len'],
            exclude_same_video=bool(base.model.get('exclude_same_video',
                                                   False)),
            temperature=base.model.get('temperature'),
            lr=base.optim_wrapper.optimizer.get('lr'),
            schedule='lr ' + ' then '.join(
                str(x.get('type')) for x in fit_schedule(
                    base.get('param_scheduler'), args.epochs)),
            epochs=args.epochs, iters_per_epoch=plan['iters_per_epoch'],
            config=_rel(args.config), eval_clips=sf.get('num_clips', '?'),
            probe_c=args.probe_c),
        timing=dict(wall_s=0.0, train_s=t_train, eval_s=t_eval,
                    trained_runs=len(trained),
                    reused_runs=n_runs - len(trained),
                    train_total_s=float(sum(
                        r.get('train_seconds', 0.0) or 0.0
                        for r in runs.values()))),
    )
    aggregate(results)
    results['timing']['wall_s'] = time.time() - t_start
    table = results_table(results)
    text = '\n\n'.join(reading(results))
    print('\n' + table + '\n\n' + text, flush=True)
    draw_figure(results, args.figure)
    write_doc(results, args.doc, args.figure)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.md'), 'w',
              encoding='utf-8') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w',
              encoding='utf-8') as f:
        json.dump(_jsonable(results), f, indent=1)
    print(f'\n[table6] wrote {_rel(args.doc)} and {_rel(args.figure)}; '
          f'wall time {results["timing"]["wall_s"] / 60:.1f} min', flush=True)
    return results


if __name__ == '__main__':
    main()
