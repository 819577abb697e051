#!/usr/bin/env python
"""Seed 001's Table 6 at small scale: rho-MoCo vs IIVCL vs NN-only.

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
(a Fig. 3b analogue in numbers). Finally it writes docs/reproduction.md (the
table, the figure, the command, the machine, the date and a reading generated
from the numbers) -- no number in it is typed by hand.

Finished runs are reused (a run is finished when its last checkpoint exists
and its resolved config is unchanged); an interrupted run resumes from its
last epoch checkpoint; --force redoes everything.

    python tools/reproduce_table6.py                      # 3 seeds, defaults
    python tools/reproduce_table6.py --seeds 0 --epochs 4  # a quick look
    python tools/reproduce_table6.py --video-folder DIR    # DIR/<class>/*.mp4
    python tools/reproduce_table6.py --train-list T --query-list Q \\
        --video-root V                                     # "path label" lists

Default budget (2-core CPU, machine not shared): 9 pretrainings x 36 epochs
x 30 iterations = 9720 iterations + 12 feature extractions of 320 videos (3
seeds x 3 settings + 3 random backbones); measured 28.6 min wall on
2026-11-23 (27.5 min of it pretraining). Each --epochs step adds or removes
~0.8 minutes.
"""
import argparse
import datetime
import glob
import hashlib
import json
import math
import os
import os.path as osp
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = osp.join(ROOT, 'configs', 'demo', 'table6_r3d18_demo.py')
DEFAULT_EPOCHS = 36  # the demo recipe (configs/demo/iivcl_r3d18_demo.py)

#: The three settings of Table 6, in the paper's row order.
SETTINGS: Tuple[Dict[str, Any], ...] = (
    dict(key='rho_moco', name='ρ-MoCo', lambda_intra=1.0, lambda_nn=0.0),
    dict(key='iivcl', name='IIVCL', lambda_intra=1.0, lambda_nn=1.0),
    dict(key='nn_only', name='NN only (video NNCLR)', lambda_intra=0.0,
         lambda_nn=1.0),
)
SETTING_KEYS = tuple(s['key'] for s in SETTINGS)
#: Evaluation measures (key, column title), all in percent.
MEASURES = (('R@1', 'R@1'), ('R@5', 'R@5'), ('linear', 'linear top-1'))

#: Quoted from seed 001, Table 6 (K400 pretraining, 200 epochs, one run per
#: cell) for context only; nothing here is a result of this tool.
PAPER_TABLE6 = {
    'tasks': ('UCF finetune', 'HMDB finetune', 'SSv2 finetune',
              'K400 linear', 'AVA finetune'),
    'rho_moco': (91.1, 65.3, 53.6, 65.4, 18.6),
    'iivcl': (92.6, 65.8, 53.8, 65.7, 19.0),
    'nn_only': (91.2, 66.2, 53.2, 63.7, 18.4),
}


# --------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------
def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=DEFAULT_EPOCHS,
                   help=f'pretraining epochs per run (default '
                   f'{DEFAULT_EPOCHS}); the LR schedule is fitted to it')
    p.add_argument('--settings', nargs='+', choices=SETTING_KEYS,
                   default=list(SETTING_KEYS))
    p.add_argument('--config', default=CONFIG,
                   help='base pretraining config (lambdas set per run)')
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs',
                                                  'table6'))
    g = p.add_argument_group('data (default: the generated demo set)')
    g.add_argument('--data-root', default=osp.join(ROOT, 'data', 'demo'),
                   help='generated demo set (made here with the default '
                   'parameters unless a complete set exists)')
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
                   help='videos per step (default: the config\'s; lowered '
                   'for small sets)')
    g.add_argument('--queue-len', type=int, default=None,
                   help='queue rows (default: the config\'s, lowered so the '
                   'queue holds fewer than half the training videos)')
    g.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides of the base config (before the lambdas)')
    g.add_argument('--verbose', action='store_true',
                   help='echo every training log line (default: one per '
                   'epoch)')
    g = p.add_argument_group('evaluation and report')
    g.add_argument('--probe-c', type=float, default=1.0,
                   help='inverse L2 strength of the linear probe')
    g.add_argument('--eval-batch-size', type=int, default=16)
    g.add_argument('--eval-workers', type=int, default=2)
    g.add_argument('--doc', default=osp.join(ROOT, 'docs', 'reproduction.md'))
    g.add_argument('--figure', default=osp.join(ROOT, 'docs', 'figures',
                                                'table6_nn_agreement.png'))
    p.add_argument('--force', action='store_true',
                   help='redo every pretraining and evaluation')
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error('--epochs must be >= 1')
    if (args.train_list is None) != (args.query_list is None):
        p.error('--train-list and --query-list go together')
    if args.train_list and args.video_root is None:
        p.error('--train-list needs --video-root')
    if args.train_list and args.video_folder:
        p.error('use either --video-folder or --train-list/--query-list')
    args.seeds = list(dict.fromkeys(args.seeds))
    args.settings = [k for k in SETTING_KEYS if k in args.settings]
    return args


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.mpg', '.mpeg',
              '.m4v')


def read_list(path: str) -> List[Tuple[str, int]]:
    """``path label`` lines (label -1 when missing)."""
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            parts = line.strip().rsplit(maxsplit=1)
            if not parts:
                continue
            if len(parts) == 2 and re.fullmatch(r'-?\d+', parts[1]):
                out.append((parts[0], int(parts[1])))
            else:
                out.append((line.strip(), -1))
    return out


def lists_from_folder(folder: str, out_dir: str, query_ratio: float,
                      seed: int = 0) -> Dict[str, Any]:
    """Write train/query lists for ``folder/<class>/<video>`` (labels =
    sorted class folder order; class-stratified split, see
    :func:`mmiivcl.demo.synthetic.stratified_query_split`)."""
    from mmiivcl.demo.synthetic import stratified_query_split
    classes = sorted(d for d in os.listdir(folder)
                     if osp.isdir(osp.join(folder, d)))
    items = []
    for label, c in enumerate(classes):
        for root, _, files in os.walk(osp.join(folder, c)):
            for f in sorted(files):
                if f.lower().endswith(VIDEO_EXTS):
                    items.append((osp.relpath(osp.join(root, f), folder),
                                  label))
    if len(classes) < 2 or not items:
        raise SystemExit(f'--video-folder {folder}: need >= 2 class '
                         f'sub-folders with videos ({VIDEO_EXTS})')
    labels = [lab for _, lab in items]
    is_q = stratified_query_split(labels, query_ratio, seed)
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, sel in (('train_list', ~is_q), ('query_list', is_q)):
        paths[name] = osp.join(out_dir, f'{name}.txt')
        with open(paths[name], 'w', encoding='utf-8') as f:
            for (p, lab), s in zip(items, sel):
                if s:
                    f.write(f'{p} {lab}\n')
    paths['classes'] = osp.join(out_dir, 'classes.txt')
    with open(paths['classes'], 'w', encoding='utf-8') as f:
        f.write('\n'.join(classes) + '\n')
    return paths


def resolve_data(args) -> Dict[str, Any]:
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
        from mmiivcl.demo.synthetic import (generate_demo_dataset,
                                            is_generated)
        root = osp.abspath(args.data_root)
        if not is_generated(root):
            generate_demo_dataset(root)
        with open(osp.join(root, 'manifest.json'), encoding='utf-8') as f:
            man = json.load(f)
        par = man.get('params', man)
        d = dict(train_list=osp.join(root, 'train_list.txt'),
                 query_list=osp.join(root, 'query_list.txt'),
                 video_root=osp.join(root, 'videos'),
                 classes=osp.join(root, 'classes.txt'),
                 source='the generated motion-class set '
                 f'({_rel(root)}: {par.get("num_frames", "?")} frames of '
                 f'{par.get("size", "?")}x{par.get("size", "?")} px per '
                 'video; classes differ only in motion; '
                 f'{_scenes(par.get("looks", 0))}; '
                 'mmiivcl/demo/synthetic.py)')
    for k in ('train_list', 'query_list'):
        if not osp.isfile(d[k]):
            raise SystemExit(f'{k} not found: {d[k]}')
    d['train'] = read_list(d['train_list'])
    d['query'] = read_list(d['query_list'])
    tl = np.array([lab for _, lab in d['train']])
    ql = np.array([lab for _, lab in d['query']])
    if (tl < 0).any() or (ql < 0).any():
        raise SystemExit('every train/query video needs a label (">= 0") for '
                         'the retrieval and the linear probe')
    d['num_classes'] = int(len(np.unique(np.concatenate([tl, ql]))))
    d['train_labels'], d['query_labels'] = tl, ql
    return d


# --------------------------------------------------------------------------
# per-run configs
# --------------------------------------------------------------------------
def find_transform(pipeline, type_name: str) -> Optional[dict]:
    for t in pipeline or []:
        if isinstance(t, dict) and t.get('type') == type_name:
            return t
    return None


def _scenes(looks: int) -> str:
    """What the generator's ``looks`` parameter means, in words."""
    if not looks:
        return 'every video has a scene of its own'
    if looks == 1:
        return 'every video is filmed in the same scene'
    return (f'scenes come from a pool of {looks} looks shared by every '
            'class, the camera is each video\'s own')


def fit_schedule(param_scheduler, epochs: int) -> List[dict]:
    """Stretch the epoch-based schedulers of the config to ``epochs``
    (warm-up kept, the cosine phase ends at the last epoch)."""
    out = []
    for s in param_scheduler or []:
        s = dict(s)
        if not s.get('by_epoch', True):
            out.append(s)
            continue
        begin = int(s.get('begin', 0))
        if begin >= epochs:
            continue
        if s.get('type') in ('CosineAnnealingLR',
                             'CosineAnnealingParamScheduler'):
            s['end'] = epochs
            s['T_max'] = epochs - begin
        elif 'end' in s:
            s['end'] = min(int(s['end']), epochs)
        out.append(s)
    return out


def plan_training(cfg, num_train: int, batch_size: Optional[int],
                  queue_len: Optional[int]) -> Dict[str, int]:
    """Batch size and queue length for ``num_train`` videos: the queue
    holds fewer than half of the training videos (DESIGN §10) and at least
    one step's keys (rho x batch)."""
    pair = find_transform(cfg.train_dataloader.dataset.get('pipeline'),
                          'SampleClipPair')
    rho = int(pair.get('num_clips', 2)) if pair else 2
    bs = int(batch_size or cfg.train_dataloader.batch_size)
    ql = int(queue_len or cfg.model.queue_len)
    max_q_videos = (num_train - 1) // 2  # strictly below half
    if max_q_videos < 1:
        raise SystemExit(f'{num_train} training videos are too few: the '
                         'queue must hold fewer than half of them')
    notes = []
    if ql > rho * max_q_videos:
        notes.append(f'queue {ql} -> {rho * max_q_videos} rows (fewer than '
                     f'half of the {num_train} training videos)')
        ql = rho * max_q_videos
    bs = min(bs, num_train)
    if rho * bs > ql:
        new = max(1, ql // rho)
        notes.append(f'batch {bs} -> {new} (a step enqueues rho x batch = '
                     f'{rho * bs} keys > queue {ql})')
        bs = new
    groups = int(cfg.model.get('bn_groups', 1))
    if groups > bs:  # emulated shuffle-BN needs >= 1 video per group
        notes.append(f'model.bn_groups {groups} -> {bs} (batch {bs})')
        groups = bs
    for n in notes:
        print(f'[table6] {n}', flush=True)
    return dict(rho=rho, batch_size=bs, queue_len=ql, bn_groups=groups,
                iters_per_epoch=num_train // bs)


def make_run_config(base_cfg, setting: dict, seed: int, epochs: int,
                    plan: Dict[str, int], data: Dict[str, Any]):
    """The resolved config of one (setting, seed) run."""
    import copy
    cfg = copy.deepcopy(base_cfg)
    cfg.model.lambda_intra = setting['lambda_intra']
    cfg.model.lambda_nn = setting['lambda_nn']
    if setting['lambda_intra'] == 0:
        cfg.model.head_intra = None
    if setting['lambda_nn'] == 0:
        cfg.model.head_nn = None
    cfg.model.queue_len = plan['queue_len']
    cfg.model.bn_groups = plan['bn_groups']
    cfg.train_dataloader.batch_size = plan['batch_size']
    cfg.train_dataloader.dataset.ann_file = data['train_list']
    cfg.train_dataloader.dataset.data_prefix = dict(video=data['video_root'])
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = fit_schedule(cfg.get('param_scheduler'), epochs)
    cfg.default_hooks.checkpoint.interval = 1  # resumable at every epoch
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.randomness = dict(seed=int(seed), deterministic=False)
    cfg.pop('work_dir', None)
    return cfg


# --------------------------------------------------------------------------
# pretraining
# --------------------------------------------------------------------------
_EPOCH_END = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]')


def _echo(line: str, epochs: int) -> Optional[str]:
    """What to show of a training log line: a compact summary of each
    epoch's last iteration, errors in full, nothing otherwise."""
    m = _EPOCH_END.search(line)
    if m:
        if m.group(2) != m.group(3):
            return None
        vals = dict(re.findall(r'\b(eta|loss|nnq_label_agree|'
                               r'iq_label_agree):\s*(\S+)', line))
        return (f'epoch {m.group(1)}/{epochs}' + ''.join(
            f'  {k} {v}' for k, v in vals.items()))
    if 'Traceback' in line or 'Error' in line or 'ERROR' in line:
        return line.rstrip()
    return None


def pretrain(run_dir: str, cfg, epochs: int, force: bool, verbose: bool,
             label: str) -> Dict[str, Any]:
    """Train one run unless finished; returns ``ckpt``, ``seconds`` (this
    call's training time, 0 when reused) and ``reused``."""
    ckpt = osp.join(run_dir, f'epoch_{epochs}.pth')
    # mmengine re-dumps the config into the work dir (adding launcher and
    # work_dir), so the run is identified by a hash of the text written here
    cfg_path = osp.join(run_dir, 'table6_config.py')
    sig_path = osp.join(run_dir, 'table6_config.sha256')
    text = cfg.pretty_text
    sig = hashlib.sha256(text.encode('utf-8')).hexdigest()
    old_sig = None
    if osp.isfile(sig_path):
        with open(sig_path, encoding='utf-8') as f:
            old_sig = f.read().strip()
    same_cfg = old_sig == sig
    info_path = osp.join(run_dir, 'run_info.json')
    finished = bool(_read_json(info_path).get('finished'))
    if finished and not same_cfg and not force:
        raise SystemExit(
            f'{run_dir} holds a finished run of a different config (other '
            'epochs, data or options); pass --force to replace it or choose '
            'another --work-dir')
    if finished and same_cfg and osp.isfile(ckpt) and not force:
        print(f'[table6] {label}: reusing {_rel(ckpt)}', flush=True)
        return dict(ckpt=ckpt, seconds=0.0, reused=True,
                    **_read_json(info_path))
    resume = (not force and same_cfg
              and osp.isfile(osp.join(run_dir, 'last_checkpoint')))
    if not resume and osp.isdir(run_dir):
        shutil.rmtree(run_dir)  # a stale or forced run: start clean
    os.makedirs(run_dir, exist_ok=True)
    with open(cfg_path, 'w', encoding='utf-8') as f:
        f.write(text)
    with open(sig_path, 'w', encoding='utf-8') as f:
        f.write(sig + '\n')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg_path,
           '--work-dir', run_dir] + (['--resume'] if resume else [])
    log_path = osp.join(run_dir, 'train_console.log')
    print(f'[table6] {label}: {"resuming" if resume else "pretraining"} -> '
          f'{_rel(run_dir)} (log: {_rel(log_path)})', flush=True)
    t0 = time.time()
    with open(log_path, 'a', encoding='utf-8') as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        for line in proc.stdout:
            log.write(line)
            shown = line.rstrip() if verbose else _echo(line, epochs)
            if shown:
                print(f'  {shown}', flush=True)
        rc = proc.wait()
    seconds = time.time() - t0
    # time of earlier, interrupted attempts of this run is kept and summed
    prev = _read_json(info_path).get('train_seconds', 0.0) if resume else 0.
    ok = rc == 0 and osp.isfile(ckpt)
    info = dict(train_seconds=prev + seconds, finished=ok)
    with open(info_path, 'w') as f:
        json.dump(info, f)
    if not ok:
        with open(log_path, encoding='utf-8', errors='replace') as f:
            tail = f.readlines()[-40:]
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'[table6] {label}: training failed (exit {rc}); '
                         f'full log {log_path}; rerun the command to resume')
    return dict(ckpt=ckpt, seconds=seconds, reused=False, **info)


def _read_json(path: str) -> dict:
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def read_scalars(run_dir: str) -> List[dict]:
    """Training rows of every ``<timestamp>/vis_data/scalars.json`` of a
    run (resumed runs have several), one per iteration, later files win."""
    rows: Dict[int, dict] = {}
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path, encoding='utf-8') as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if 'iter' in r and 'loss' in r:
                    rows[int(r['iter'])] = r
    return [rows[k] for k in sorted(rows)]


def epoch_means(rows: Sequence[dict], key: str, iters_per_epoch: int
                ) -> Dict[int, float]:
    """Mean of ``key`` per epoch (1-based) over the rows that have it."""
    acc: Dict[int, List[float]] = {}
    for r in rows:
        if key not in r:
            continue
        ep = int(r['epoch']) if 'epoch' in r else int(
            math.ceil(int(r['iter']) / max(iters_per_epoch, 1)))
        acc.setdefault(ep, []).append(float(r[key]))
    return {e: float(np.mean(v)) for e, v in sorted(acc.items())}


def nn_curves(rows: Sequence[dict], iters_per_epoch: int) -> Dict[str, Any]:
    """Per-epoch NN label agreement (NN queue and intra-queue probe) and the
    run-mean same-video NN fractions."""
    out: Dict[str, Any] = {}
    for key in ('nnq_label_agree', 'iq_label_agree'):
        out[key] = epoch_means(rows, key, iters_per_epoch)
    for key in ('nnq_same_video', 'iq_same_video'):
        v = [float(r[key]) for r in rows if key in r]
        out[key] = float(np.mean(v)) if v else None
    return out


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------
def extract_cached(cfg_path: str, ckpt: Optional[str], seed: int,
                   cache: str, data: Dict[str, Any], pipeline,
                   batch_size: int, workers: int, force: bool
                   ) -> Dict[str, Dict[str, np.ndarray]]:
    """Backbone features of the train and query videos, cached in ``cache``
    (``.npz``; recomputed when the checkpoint changed)."""
    from mmiivcl.analysis.features import (build_feature_model,
                                           build_list_dataset,
                                           extract_features)
    sig = _ckpt_signature(ckpt)
    if not ckpt:  # a random backbone: depends on the config and the seed
        with open(cfg_path, 'rb') as f:
            sig += f':{hashlib.sha256(f.read()).hexdigest()[:16]}:{seed}'
    if osp.isfile(cache) and not force:
        z = np.load(cache, allow_pickle=False)
        if str(z['signature']) == sig:
            return {r: dict(feats=z[f'{r}_feats'], labels=z[f'{r}_labels'],
                            sample_idx=z[f'{r}_sample_idx'])
                    for r in ('train', 'query')}
    model, _ = build_feature_model(cfg_path, ckpt, seed=seed)
    out = {}
    for role in ('train', 'query'):
        ds = build_list_dataset(data[f'{role}_list'], data['video_root'],
                                pipeline)
        f = extract_features(model, ds, batch_size, workers)
        out[role] = {k: f[k] for k in ('feats', 'labels', 'sample_idx')}
    os.makedirs(osp.dirname(cache), exist_ok=True)
    np.savez(cache, signature=np.array(sig),
             **{f'{r}_{k}': v for r, d in out.items() for k, v in d.items()})
    return out


def _ckpt_signature(ckpt: Optional[str]) -> str:
    if not ckpt:
        return 'random-init'
    st = os.stat(ckpt)
    return f'{osp.abspath(ckpt)}:{st.st_size}:{int(st.st_mtime)}'


def evaluate_features(feats: Dict[str, Dict[str, np.ndarray]],
                      probe_c: float = 1.0) -> Dict[str, float]:
    """R@1, R@5 (query vs train gallery) and linear-probe top-1 (percent)."""
    from mmiivcl.analysis.linear_probe import linear_probe
    from mmiivcl.analysis.retrieval import retrieval_from_features
    r = retrieval_from_features(feats['query'], feats['train'], (1, 5))
    lp = linear_probe(feats['train']['feats'], feats['train']['labels'],
                      feats['query']['feats'], feats['query']['labels'],
                      C=probe_c)
    return {'R@1': r['R@1'], 'R@5': r['R@5'], 'linear': lp['top1'],
            'linear_train': lp['train_top1'],
            'linear_converged': lp['converged'],
            'feat_dim': int(feats['train']['feats'].shape[1])}


def chance_levels(data: Dict[str, Any]) -> Dict[str, float]:
    from mmiivcl.analysis.linear_probe import probe_chance
    from mmiivcl.engine.hooks.nn_queue_stats_hook import \
        chance_label_agreement
    from mmiivcl.evaluation import retrieval_chance
    r = retrieval_chance(data['query_labels'], data['train_labels'], (1, 5))
    return {'R@1': r['R@1'], 'R@5': r['R@5'],
            'linear': probe_chance(data['train_labels'],
                                   data['query_labels']),
            'nn_agree': chance_label_agreement(data['train_labels'])}


# --------------------------------------------------------------------------
# statistics and text
# --------------------------------------------------------------------------
def mean_sd(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample std (ddof=1; NaN for fewer than 2 values)."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if not len(v):
        return float('nan'), float('nan')
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float(
        'nan')


def fmt_ms(m: float, s: float, digits: int = 1) -> str:
    if m is None or not np.isfinite(m):
        return 'n/a'
    if s is None or not np.isfinite(s):
        return f'{m:.{digits}f}'
    return f'{m:.{digits}f} ± {s:.{digits}f}'


def average_ranks(means: Dict[str, Dict[str, float]],
                  measures: Sequence[str]) -> Dict[str, float]:
    """Table 6's "Avg. Rank": rank the settings per measure (1 = best,
    ties share the mean rank), then average over the measures."""
    keys = list(means)
    ranks = {k: [] for k in keys}
    for m in measures:
        vals = np.array([means[k][m] for k in keys])
        for i, k in enumerate(keys):
            better = np.sum(vals > vals[i])
            equal = np.sum(vals == vals[i])
            ranks[k].append(better + (equal + 1) / 2.0)
    return {k: float(np.mean(v)) for k, v in ranks.items()}


def compare(a: Sequence[float], b: Sequence[float]) -> Dict[str, Any]:
    """Paired comparison of two settings over the same seeds (a - b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    d = float(a.mean() - b.mean())
    spread = max(mean_sd(a)[1], mean_sd(b)[1]) if n > 1 else float('nan')
    diffs = a - b
    out = dict(n=n, delta=d, spread=spread, wins=int(np.sum(diffs > 0)),
               losses=int(np.sum(diffs < 0)),
               paired=mean_sd(diffs))
    if n < 2 or not np.isfinite(spread):
        out['ratio'], out['verdict'] = float('nan'), 'single'
        return out
    ratio = d / spread if spread > 0 else (0.0 if d == 0 else math.copysign(
        float('inf'), d))
    out['ratio'] = ratio
    if ratio >= 2 and out['wins'] == n:
        out['verdict'] = 'clear_win'
    elif ratio >= 1:
        out['verdict'] = 'lead'
    elif ratio <= -2 and out['losses'] == n:
        out['verdict'] = 'clear_loss'
    elif ratio <= -1:
        out['verdict'] = 'behind'
    else:
        out['verdict'] = 'noise'
    return out


def iivcl_vs_rho_moco(results: Dict[str, Any]
                      ) -> Optional[Dict[str, Dict[str, Any]]]:
    """Per measure: :func:`compare` of IIVCL against rho-MoCo, or None."""
    per = results['per_seed']
    if 'iivcl' not in per or 'rho_moco' not in per:
        return None
    return {m: compare([r[m] for r in per['iivcl']],
                       [r[m] for r in per['rho_moco']]) for m, _ in MEASURES}


def _cmp_phrase(c: Dict[str, Any], title: str, a: str, b: str) -> str:
    sp = ('no spread (1 seed)' if not np.isfinite(c['spread']) else
          f'{abs(c["ratio"]):.1f}x the larger seed std of '
          f'{c["spread"]:.1f}')
    return (f'{title}: {a} {c["delta"]:+.1f} points vs {b} ({sp}; {a} ahead '
            f'on {c["wins"]} of {c["n"]} seeds, paired Δ '
            f'{fmt_ms(*c["paired"])})')


def reading(results: Dict[str, Any]) -> List[str]:
    """The generated reading of the numbers (Markdown paragraphs)."""
    per = results['per_seed']
    setting_names = {s['key']: s['name'] for s in SETTINGS}
    keys = [k for k in SETTING_KEYS if k in per]
    paras: List[str] = []
    n = len(results['seeds'])
    measures = [m for m, _ in MEASURES]
    titles = dict(MEASURES)
    cmps = iivcl_vs_rho_moco(results)
    if cmps:
        v = {m: c['verdict'] for m, c in cmps.items()}
        wins = [titles[m] for m in measures if v[m] == 'clear_win']
        leads = [titles[m] for m in measures if v[m] == 'lead']
        behind = [titles[m] for m in measures
                  if v[m] in ('behind', 'clear_loss')]
        noise = [titles[m] for m in measures if v[m] == 'noise']
        if n < 2:
            head = ('**Does IIVCL beat ρ-MoCo here? Undecided:** one seed '
                    'gives no spread to judge a difference against.')
        elif len(wins) == len(measures):
            head = ('**Does IIVCL beat ρ-MoCo here? Yes:** on every measure, '
                    'by at least twice the seed spread and on every seed.')
        elif (wins or leads) and not behind:
            head = ('**Does IIVCL beat ρ-MoCo here? Partly:** IIVCL is ahead '
                    f'on {_join(wins + leads)}'
                    + (f' (clearly on {_join(wins)})' if wins else '')
                    + (f'; on {_join(noise)} the difference is within the '
                       'seed spread' if noise else '') + '.')
        elif behind and not (wins or leads):
            head = ('**Does IIVCL beat ρ-MoCo here? No:** ρ-MoCo is ahead '
                    'on '
                    f'{_join(behind)}'
                    + (f'; on {_join(noise)} the difference is within the '
                       'seed spread' if noise else '') + '.')
        elif behind:
            head = ('**Does IIVCL beat ρ-MoCo here? Mixed:** IIVCL is ahead '
                    f'on {_join(wins + leads)} and behind on '
                    f'{_join(behind)}.')
        else:
            head = ('**Does IIVCL beat ρ-MoCo here? Not beyond the seed '
                    'spread:** on every measure the gap is smaller than the '
                    'larger seed std of the two settings.')
        # a paired view: the settings share their seeds (data order,
        # augmentation and initialisation RNG), so a gap smaller than the
        # spread may still have the same sign on every seed
        same_sign = [titles[m] for m in measures if v[m] == 'noise' and
                     n >= 2 and cmps[m]['wins'] == n]
        other_sign = [titles[m] for m in measures if v[m] == 'noise' and
                      n >= 2 and cmps[m]['losses'] == n]
        if same_sign:
            head += (f' Within the spread, IIVCL is nevertheless ahead on all '
                     f'{n} seeds on {_join(same_sign)}: a consistent but '
                     'small edge that more seeds would have to confirm.')
        if other_sign:
            head += (f' Within the spread, ρ-MoCo is nevertheless ahead on '
                     f'all {n} seeds on {_join(other_sign)}.')
        paras.append(head)
        paras.append('\n'.join(
            f'- {_cmp_phrase(cmps[m], titles[m], "IIVCL", "ρ-MoCo")}.'
            for m in measures))
        paras.append('Verdict rule: "clear" = the mean gap is at least twice '
                     'the larger of the two settings\' seed stds *and* the '
                     'same sign on every seed; "ahead" = at least one std; '
                     'otherwise "within the seed spread".')
    if results.get('avg_rank'):
        ar = results['avg_rank']
        order = sorted(ar, key=lambda k: ar[k])
        paras.append(
            'Average rank over R@1, R@5 and linear top-1 (Table 6\'s summary, '
            '1 = best): ' + ', '.join(
                f'{setting_names[k]} {ar[k]:.1f}' for k in order) + '.')
    if 'nn_only' in per:
        others = [k for k in ('rho_moco', 'iivcl') if k in per]
        parts = []
        for k in others:
            c = compare([r['linear'] for r in per['nn_only']],
                        [r['linear'] for r in per[k]])
            parts.append(f'{c["delta"]:+.1f} linear top-1 vs '
                         f'{setting_names[k]}'
                         + (f' ({abs(c["ratio"]):.1f}x seed std)'
                            if np.isfinite(c['ratio']) else ''))
        if parts:
            paras.append('NN only (no intra-video positive at all): '
                         + '; '.join(parts) + '.')
    rand = results.get('random_init')
    chance = results['chance']
    if rand:
        lines = []
        for k in keys:
            c = compare([r['R@1'] for r in per[k]],
                        [r['R@1'] for r in rand])
            cl = compare([r['linear'] for r in per[k]],
                         [r['linear'] for r in rand])
            lines.append(
                f'- {setting_names[k]}: R@1 {c["delta"]:+.1f}, linear '
                f'{cl["delta"]:+.1f} points over a random backbone'
                + (f' ({c["ratio"]:.1f}x / {cl["ratio"]:.1f}x the seed '
                   'std)' if np.isfinite(c['ratio']) and
                   np.isfinite(cl['ratio']) else '') + '.')
        rm = mean_sd([r['R@1'] for r in rand])[0]
        paras.append(
            'Did pretraining learn anything? A randomly initialised backbone '
            f'retrieves at R@1 {rm:.1f} (chance {chance["R@1"]:.1f}).\n'
            + '\n'.join(lines))
    curves = results.get('curves', {})
    ca = chance['nn_agree']
    nl = []
    for k in keys:
        key = 'nnq_label_agree' if k != 'rho_moco' else 'iq_label_agree'
        first, last = _first_last(curves.get(k, {}).get(key))
        if first is None:
            continue
        src = ('its NN positives' if k != 'rho_moco' else
               'the NN Eq.3 would pick in its intra queue')
        trend = ('rose' if last[0] > first[0] + 0.02 else
                 'fell' if last[0] < first[0] - 0.02 else 'stayed flat')
        nl.append(f'- {setting_names[k]} ({src}): {trend} from '
                  f'{first[0]:.2f} in epoch 1 to {last[0]:.2f}'
                  + (f' ± {last[1]:.2f}' if np.isfinite(last[1]) else '')
                  + ' in the last epoch'
                  + (f' ({last[0] / ca:.1f}x chance).' if ca > 0 else '.'))
    if nl:
        paras.append('Same-class rate of the nearest neighbours during '
                     f'pretraining (chance {ca:.2f}; Fig. 3b analogue):\n'
                     + '\n'.join(nl))
    return paras


def _first_last(curve_stats):
    """(mean, std) at the first and last epoch from per-seed curves."""
    if not curve_stats:
        return None, None
    eps = sorted(curve_stats)
    return curve_stats[eps[0]], curve_stats[eps[-1]]


def _reasons_title(results: Dict[str, Any]) -> str:
    cmps = iivcl_vs_rho_moco(results) or {}
    if cmps and all(c['verdict'] == 'clear_win' for c in cmps.values()):
        return '## Caveats (hand-written, kept or dropped by the numbers)'
    return ('## Possible reasons IIVCL does not clearly win here '
            '(hand-written, kept or dropped by the numbers)')


def _plural(n: int, word: str) -> str:
    return f'{n} {word}' + ('' if n == 1 else 's')


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def possible_reasons(results: Dict[str, Any]) -> List[str]:
    """Hand-written reasons, each kept only when the numbers call for it
    (every number in them comes from ``results``)."""
    cmps = iivcl_vs_rho_moco(results)
    if not cmps:
        return []
    clear = all(c['verdict'] == 'clear_win' for c in cmps.values())
    setup = results['setup']
    out = []
    paper = [i - r for i, r in zip(PAPER_TABLE6['iivcl'],
                                   PAPER_TABLE6['rho_moco'])]
    spreads = [c['spread'] for c in cmps.values()
               if np.isfinite(c['spread'])]
    if clear:
        out.append(
            'The result holds for this small synthetic set, a narrow R3D-18 '
            f'at {setup["clip"]} and {_plural(setup["epochs"], "epoch")}; '
            'it says '
            'nothing about the size of the gain on Kinetics, where the paper '
            f'reports {min(paper):.1f} to {max(paper):.1f} points '
            '(Table 6, one run per cell).')
        return out
    if spreads:
        s = max(spreads)
        out.append(
            f'*Resolution.* With {len(results["seeds"])} seeds the seed std '
            f'here is up to {s:.1f} points, so only gaps of about '
            f'{2 * s:.1f} points or more count as clear. The paper\'s own '
            f'IIVCL - ρ-MoCo margins in Table 6 are {min(paper):.1f} to '
            f'{max(paper):.1f} points (K400, 200 epochs, one run per cell): '
            'an effect of that size would not be visible at this scale.')
    nq = setup['num_query']
    out.append(f'*Granularity.* {nq} held-out videos: one video is '
               f'{100.0 / nq:.1f} points of R@1 or linear top-1.')
    curves = results.get('curves', {}).get('iivcl', {})
    _, last = _first_last(curves.get('nnq_label_agree'))
    ca = results['chance']['nn_agree']
    if last is not None and ca > 0:
        if last[0] < 2 * ca:
            out.append(
                f'*NN quality.* By the last epoch only {last[0]:.2f} of '
                f'IIVCL\'s NN positives share the query\'s class (chance '
                f'{ca:.2f}); the other {1 - last[0]:.2f} are other-class '
                'videos that L_NN pulls towards the query. The paper relies '
                'on the embedding becoming good enough for NNs to be '
                'semantic (Fig. 3b), which may take longer than '
                f'{_plural(setup["epochs"], "epoch")} here.')
        else:
            out.append(
                f'*NN quality is not the bottleneck.* IIVCL\'s NN positives '
                f'share the query\'s class {last[0]:.2f} of the time by the '
                f'last epoch ({last[0] / ca:.1f}x chance {ca:.2f}), yet '
                'IIVCL does not clearly beat ρ-MoCo downstream: on this set '
                'the intra-video '
                'positive alone may already capture what the classes need '
                '(motion), leaving little for NN positives to add.')
    q_videos = setup['queue_len'] // max(setup['rho'], 1)
    out.append(
        f'*Queue.* The NN queue holds {q_videos} videos '
        f'(~{q_videos / max(setup["num_classes"], 1):.1f} per class), below '
        f'half of the {setup["num_train"]} training videos as required '
        '(DESIGN §10); the paper\'s queue of 65536 keys offers far more '
        'candidates per query, so its NNs can be closer.')
    out.append(
        f'*Schedule.* {_plural(setup["epochs"], "epoch")} x '
        f'{_plural(setup["iters_per_epoch"], "iteration")} at batch '
        f'{setup["batch_size"]}, against 200 epochs of Kinetics-400 in the '
        'paper.')
    return out


# --------------------------------------------------------------------------
# figure and document
# --------------------------------------------------------------------------
def curve_stats(per_seed_curves: Sequence[Dict[int, float]]
                ) -> Dict[int, Tuple[float, float]]:
    """Per epoch: (mean, sample std) over seeds of per-seed epoch means."""
    eps = sorted({e for c in per_seed_curves for e in c})
    return {e: mean_sd([c[e] for c in per_seed_curves if e in c])
            for e in eps}


CURVE_STYLE = {
    ('iivcl', 'nnq_label_agree'): ('IIVCL: NN positives (g$^{NN}$)', 'C1',
                                   '-'),
    ('nn_only', 'nnq_label_agree'): ('NN only: NN positives (g$^{NN}$)',
                                     'C2', '-'),
    ('rho_moco', 'iq_label_agree'): ('ρ-MoCo: Eq.3 NN in intra queue '
                                     '(g$^{Intra}$)', 'C0', '--'),
    ('iivcl', 'iq_label_agree'): ('IIVCL: Eq.3 NN in intra queue '
                                  '(g$^{Intra}$)', 'C1', ':'),
}


def draw_figure(results: Dict[str, Any], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0),
                             gridspec_kw=dict(width_ratios=[1.35, 1]))
    ax = axes[0]
    for (k, key), (label, color, ls) in CURVE_STYLE.items():
        st = results['curves'].get(k, {}).get(key)
        if not st:
            continue
        e = np.array(sorted(st))
        m = np.array([st[x][0] for x in e])
        s = np.array([st[x][1] for x in e])
        ax.plot(e, m, color=color, ls=ls, marker='o', ms=3, lw=1.6,
                label=label)
        if np.isfinite(s).any():
            s = np.nan_to_num(s)
            ax.fill_between(e, m - s, m + s, color=color, alpha=0.15, lw=0)
    ax.axhline(results['chance']['nn_agree'], color='grey', ls='--', lw=1,
               label='chance')
    ax.set_xlabel('pretraining epoch')
    ax.set_ylabel('NN has the query\'s class (fraction)')
    ax.set_ylim(0, 1)
    ax.set_title(f'NN label agreement (mean ± std, {len(results["seeds"])} '
                 'seeds)', fontsize=10)
    ax.legend(fontsize=7.5, loc='upper left')
    ax = axes[1]
    rows = [(s['name'], results['stats'][s['key']]) for s in SETTINGS
            if s['key'] in results['stats']]
    if results.get('random_init'):
        rows.append(('random init', results['stats']['random_init']))
    width = 0.8 / max(len(rows), 1)
    x = np.arange(len(MEASURES))
    for i, (name, st) in enumerate(rows):
        ax.bar(x + (i - (len(rows) - 1) / 2) * width,
               [st[m][0] for m, _ in MEASURES], width,
               yerr=[np.nan_to_num(st[m][1]) for m, _ in MEASURES],
               capsize=2, label=name)
    for j, (m, _) in enumerate(MEASURES):
        ax.hlines(results['chance'][m], j - 0.45, j + 0.45, colors='k',
                  linestyles=':', lw=1)
    ax.set_xticks(x, [t for _, t in MEASURES])
    ax.set_ylabel('% (held-out videos)')
    ax.set_title('downstream (dotted: chance)', fontsize=10)
    ax.legend(fontsize=7.5)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def results_table(results: Dict[str, Any]) -> str:
    """The Table-6-style Markdown table (mean ± sample std over seeds)."""
    st, ch = results['stats'], results['chance']
    head = ('| setting | λ_intra | λ_NN | R@1 (%) | R@5 (%) | linear top-1 '
            '(%) | avg. rank | NN label agreement, epoch 1 → last | '
            'same-video NN |')
    lines = [head, '|---|---:|---:|---:|---:|---:|---:|---|---:|']
    for s in SETTINGS:
        k = s['key']
        if k not in st:
            continue
        cur = results['curves'][k]
        key = 'iq_label_agree' if k == 'rho_moco' else 'nnq_label_agree'
        first, last = _first_last(cur.get(key))
        mark = '†' if k == 'rho_moco' else ''
        agree = ('n/a' if first is None else
                 f'{first[0]:.2f} → {fmt_ms(*last, digits=2)}{mark}')
        sv = cur.get('same_video')
        same = 'n/a' if sv is None or not np.isfinite(sv[0]) else \
            f'{fmt_ms(*sv, digits=3)}{mark}'
        rank = results.get('avg_rank', {}).get(k)
        lines.append(
            f'| {s["name"]} | {s["lambda_intra"]:.1f} | {s["lambda_nn"]:.1f} '
            + ''.join(f'| {fmt_ms(*st[k][m])} ' for m, _ in MEASURES)
            + f'| {"n/a" if rank is None else f"{rank:.1f}"} | {agree} '
            f'| {same} |')
    if 'random_init' in st:
        lines.append('| random init (no pretraining) | – | – '
                     + ''.join(f'| {fmt_ms(*st["random_init"][m])} '
                               for m, _ in MEASURES) + '| – | – | – |')
    lines.append('| chance | – | – ' + ''.join(
        f'| {ch[m]:.1f} ' for m, _ in MEASURES) +
        f'| – | {ch["nn_agree"]:.2f} | – |')
    return '\n'.join(lines)


def per_seed_table(results: Dict[str, Any]) -> str:
    lines = ['| setting | seed | R@1 | R@5 | linear top-1 | linear train '
             'top-1 | pretraining (s) |', '|---|---:|---:|---:|---:|---:|'
             '---:|']
    names = {s['key']: s['name'] for s in SETTINGS}
    names['random_init'] = 'random init'
    for k, rs in results['per_seed'].items():
        for seed, r in zip(results['seeds'], rs):
            t = r.get('train_seconds')
            lines.append(f'| {names[k]} | {seed} | {r["R@1"]:.1f} | '
                         f'{r["R@5"]:.1f} | {r["linear"]:.1f} | '
                         f'{r["linear_train"]:.1f} | '
                         f'{"–" if t is None else f"{t:.0f}"} |')
    if results.get('random_init'):
        for seed, r in zip(results['seeds'], results['random_init']):
            lines.append(f'| random init | {seed} | {r["R@1"]:.1f} | '
                         f'{r["R@5"]:.1f} | {r["linear"]:.1f} | '
                         f'{r["linear_train"]:.1f} | – |')
    return '\n'.join(lines)


def curve_table(results: Dict[str, Any], max_rows: int = 12) -> str:
    cols = [(k, key) for (k, key) in CURVE_STYLE
            if results['curves'].get(k, {}).get(key)]
    if not cols:
        return ''
    eps = sorted({e for k, key in cols
                  for e in results['curves'][k][key]})
    if len(eps) > max_rows:  # first, last and evenly spaced in between
        idx = np.unique(np.round(np.linspace(0, len(eps) - 1,
                                             max_rows)).astype(int))
        eps = [eps[i] for i in idx]
    names = {s['key']: s['name'] for s in SETTINGS}
    where = {'nnq_label_agree': 'NN queue', 'iq_label_agree': 'intra queue'}
    head = '| epoch | ' + ' | '.join(
        f'{names[k]} ({where[key]})' for k, key in cols) + ' |'
    lines = [head, '|---:|' + '---:|' * len(cols)]
    for e in eps:
        cells = []
        for k, key in cols:
            v = results['curves'][k][key].get(e)
            cells.append('–' if v is None else fmt_ms(*v, digits=2))
        lines.append(f'| {e} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def machine_info() -> Dict[str, Any]:
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = dict(platform=platform.platform(), cpu=cpu,
                cpu_count=os.cpu_count(), python=platform.python_version(),
                torch=torch.__version__,
                torch_threads=torch.get_num_threads(),
                cuda=bool(torch.cuda.is_available()))
    try:
        info['load_avg'] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info['load_avg'] = None
    return info


def write_doc(results: Dict[str, Any], path: str, figure: str) -> str:
    s, m = results['setup'], results['machine']
    fig_rel = osp.relpath(osp.abspath(figure), osp.dirname(osp.abspath(path)))
    paper = PAPER_TABLE6
    paper_rows = '\n'.join(
        f'| {st["name"]} | {st["lambda_intra"]:.1f} | {st["lambda_nn"]:.1f} | '
        + ' | '.join(f'{v:.1f}' for v in paper[st['key']]) + ' |'
        for st in SETTINGS)
    rs = possible_reasons(results)
    t = results['timing']
    doc = f"""# Seed 001's Table 6 at small scale: ρ-MoCo vs IIVCL vs NN only

*Generated by `tools/reproduce_table6.py` on {results['date']}. Every number
below comes from that run; rerun the command to refresh this page (do not edit
it by hand).*

## Command

```
{results['command']}
```

Wall time of this invocation: {t['wall_s'] / 60:.1f} min (pretraining
{t['train_s'] / 60:.1f} min over {t['trained_runs']} runs, evaluation
{t['eval_s'] / 60:.1f} min); {t['reused_runs']} finished runs were reused.
Sum of the pretraining times recorded by all runs: {t['train_total_s'] / 60:.1f} min.

## Setup

- **Question (seed 001, Table 6).** Do NN positives help? Three weightings of
  Eq.5, L = λ_intra·L_intra + λ_NN·L_NN, pretrained from the same seeds:
  (1, 0) ρ-MoCo, (1, 1) IIVCL, (0, 1) NN only (the video analogue of NNCLR).
  A branch with λ = 0 is neither built nor run.
- **Data.** {s['source'][:1].upper() + s['source'][1:]}: {s['num_train']} training videos (pretraining,
  gallery, probe training) and {s['num_query']} held-out videos (queries,
  probe test), {s['num_classes']} classes. Labels are never used in
  pretraining; they only measure it.
- **Model.** {s['backbone']}, {s['feat_dim']}-d backbone features; ρ =
  {s['rho']} clips of {s['clip']} per video; batch {s['batch_size']};
  two queues of {s['queue_len']} keys ({s['queue_len'] // max(s['rho'], 1)}
  videos, below half of the training set) with same-video exclusion
  {'on' if s['exclude_same_video'] else 'OFF'}; τ = {s['temperature']};
  SGD lr {s['lr']}, {_plural(s['epochs'], 'epoch')} ×
  {_plural(s['iters_per_epoch'], 'iteration')}, {s.get('schedule', 'warm-up then cosine')}. Config: `{s['config']}` (resolved per run
  in `<work_dir>/<setting>/seed<N>/table6_config.py`).
- **Evaluation** on the frozen online backbone, features averaged over
  {s['eval_clips']} uniformly spaced clips per video (`test_pipeline`):
  zero-shot retrieval (held-out queries search the training videos, cosine on
  L2-normalised features; R@k = a same-class video among the k nearest) and a
  *feature-cache linear probe* (features extracted once, standardised with
  the training statistics, multinomial logistic regression, C = {s['probe_c']},
  trained on the training videos, top-1 on the held-out videos; no
  augmentation, one view).
- **Seeds** {', '.join(map(str, results['seeds']))}: mean ± sample std
  (ddof = 1) over seeds. The random-init row uses the same seeds.

## Results

{results_table(results)}

† ρ-MoCo has no NN queue and no NN positive: its agreement is what Eq.3 would
pick in its *intra* queue (`QueueNNProbeHook`), i.e. a measurement of its
g^Intra embedding, not a training signal. "Same-video NN": fraction of the
picked neighbours that are an older key of the query's own video, averaged
over all iterations (0 by construction with same-video exclusion on; near 1
would mean IIVCL had degenerated to ρ-MoCo). NN agreement chance = Σ_c p_c².

![NN label agreement over pretraining and downstream results]({fig_rel})

NN label agreement per epoch (mean ± std over seeds; the curve of the
figure):

{curve_table(results)}

Per seed:

{per_seed_table(results)}

## Reading (generated from the numbers above)

{chr(10).join(p + chr(10) for p in reading(results))}
{_reasons_title(results) if rs else ""}

{chr(10).join('- ' + r for r in rs)}

## Context: the paper's Table 6 (quoted, not reproduced here)

K400 pretraining, R3D-50, 200 epochs, one run per cell; top-1 (%), AVA mAP.

| setting | λ_intra | λ_NN | {' | '.join(paper['tasks'])} |
|---|---:|---:|{'---:|' * len(paper['tasks'])}
{paper_rows}

## Machine

- {m['platform']}; CPU: {m['cpu']} ({m['cpu_count']} logical cores);
  CUDA available: {m['cuda']}
- Python {m['python']}, torch {m['torch']} ({_plural(m['torch_threads'], 'thread')}),
  interpreter `{results['python']}`
- load average at start (1/5/15 min): {m['load_avg']}
  (a busy machine makes the times above longer, not the results different)
"""
    doc = _reflow(re.sub(r'\n{3,}', '\n\n', doc))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(doc)
    return doc


def _reflow(doc: str, width: int = 79) -> str:
    """Re-wrap prose paragraphs and list items of generated Markdown
    (tables, code, headings and images are left alone)."""
    import textwrap
    out = []
    for block in doc.split('\n\n'):
        lines = block.split('\n')
        if any(ln.startswith(('|', '```', '#', '![')) for ln in lines) or \
                not block.strip():
            out.append(block)
            continue
        items: List[List[str]] = []
        for ln in lines:
            if ln.startswith('- ') or not items:
                items.append([ln])
            else:
                items[-1].append(ln.strip())
        filled = []
        for it in items:
            text = ' '.join(x.strip() for x in it)
            bullet = it[0].startswith('- ')
            filled.append(textwrap.fill(
                text, width, subsequent_indent='  ' if bullet else '',
                break_long_words=False, break_on_hyphens=False))
        out.append('\n'.join(filled))
    return '\n\n'.join(out)


def _rel(path: str) -> str:
    p = osp.abspath(path)
    return osp.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def aggregate(results: Dict[str, Any]) -> None:
    """Fill ``stats`` (mean, std per measure), curve stats and ranks."""
    stats = {}
    for k, rs in results['per_seed'].items():
        stats[k] = {m: mean_sd([r[m] for r in rs]) for m, _ in MEASURES}
    if results.get('random_init'):
        stats['random_init'] = {m: mean_sd([r[m] for r in
                                            results['random_init']])
                                for m, _ in MEASURES}
    results['stats'] = stats
    curves = {}
    for k, cs in results['per_seed_curves'].items():
        cur = {}
        for key in ('nnq_label_agree', 'iq_label_agree'):
            per = [c[key] for c in cs if c.get(key)]
            if per:
                cur[key] = curve_stats(per)
        sv_key = 'iq_same_video' if k == 'rho_moco' else 'nnq_same_video'
        vals = [c.get(sv_key) for c in cs]
        vals = [v for v in vals if v is not None]
        cur['same_video'] = mean_sd(vals) if vals else None
        curves[k] = cur
    results['curves'] = curves
    settings = [k for k in SETTING_KEYS if k in stats]
    if len(settings) > 1:
        results['avg_rank'] = average_ranks(
            {k: {m: stats[k][m][0] for m, _ in MEASURES} for k in settings},
            [m for m, _ in MEASURES])


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def main(argv=None) -> Dict[str, Any]:
    t_start = time.time()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import mmiivcl  # noqa: F401  (compat patches + registration)
    from mmengine.config import Config
    machine = machine_info()
    data = resolve_data(args)
    base = Config.fromfile(args.config)
    if args.cfg_options:
        base.merge_from_dict(args.cfg_options)
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
    t_train, trained = 0.0, []
    for seed in args.seeds:
        for k in args.settings:
            setting = next(s for s in SETTINGS if s['key'] == k)
            cfg = make_run_config(base, setting, seed, args.epochs, plan,
                                  data)
            run_dir = osp.join(args.work_dir, k, f'seed{seed}')
            r = pretrain(run_dir, cfg, args.epochs, args.force, args.verbose,
                         f'{setting["name"]} seed {seed}')
            r['run_dir'] = run_dir
            runs[(k, seed)] = r
            t_train += r['seconds']
            if not r['reused']:
                trained.append(r['seconds'])
                left = n_runs - len(runs)
                if left:
                    print(f'[table6] {left} runs left, about '
                          f'{left * np.mean(trained) / 60:.0f} min of '
                          'pretraining', flush=True)

    # ---- evaluation (features cached per run)
    t0 = time.time()
    from mmiivcl.analysis.features import resolve_pipeline
    pipeline = resolve_pipeline(base)
    per_seed: Dict[str, List[dict]] = {k: [] for k in args.settings}
    per_seed_curves: Dict[str, List[dict]] = {k: [] for k in args.settings}
    random_init: List[dict] = []
    for seed in args.seeds:
        for k in args.settings:
            r = runs[(k, seed)]
            cfg_path = osp.join(r['run_dir'], 'table6_config.py')
            feats = extract_cached(
                cfg_path, r['ckpt'], seed,
                osp.join(r['run_dir'], 'features.npz'), data, pipeline,
                args.eval_batch_size, args.eval_workers, args.force)
            ev = evaluate_features(feats, args.probe_c)
            ev['train_seconds'] = r.get('train_seconds')
            per_seed[k].append(ev)
            per_seed_curves[k].append(nn_curves(read_scalars(r['run_dir']),
                                                plan['iters_per_epoch']))
            print(f'[table6] {k} seed {seed}: R@1 {ev["R@1"]:.1f}  R@5 '
                  f'{ev["R@5"]:.1f}  linear {ev["linear"]:.1f}', flush=True)
        cfg_path = osp.join(runs[(args.settings[0], seed)]['run_dir'],
                            'table6_config.py')
        feats = extract_cached(
            cfg_path, None, seed,
            osp.join(args.work_dir, 'random_init', f'seed{seed}',
                     'features.npz'), data, pipeline, args.eval_batch_size,
            args.eval_workers, args.force)
        ev = evaluate_features(feats, args.probe_c)
        random_init.append(ev)
        print(f'[table6] random init seed {seed}: R@1 {ev["R@1"]:.1f}  R@5 '
              f'{ev["R@5"]:.1f}  linear {ev["linear"]:.1f}', flush=True)
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
        chance=chance_levels(data),
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
