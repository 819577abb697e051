"""Seeded, resumable pretraining runs and what their logs hold.

A run is ``tools/train.py`` on a resolved config in its own folder, in a
subprocess (mmengine's logging and progress as for any training), echoed one
line per epoch; the run's identity is a hash of the config text.
"""
import glob
import hashlib
import json
import math
import os
import os.path as osp
import re
import selectors
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .paths import REPO_ROOT, rel


def find_transform(pipeline, type_name: str) -> Optional[dict]:
    for t in pipeline or []:
        if isinstance(t, dict) and t.get('type') == type_name:
            return t
    return None


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


def default_jobs(num_runs: int, cpus: Optional[int] = None) -> int:
    """Runs trained at once by default: all of them, up to the cores (but
    three on two cores). Small CPU runs do not use a second core well (one
    demo step: 0.32 s on 2 threads, 0.35 s on 1; three 1-thread runs side
    by side on 2 cores: 0.70 s each, i.e. 0.23 s per step in all; AMD EPYC,
    2 cores), so seeds side by side are faster than one after another."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(num_runs, max(cpus, 3)))


def threads_per_job(jobs: int, cpus: Optional[int] = None) -> int:
    """``OMP_NUM_THREADS`` of each of ``jobs`` runs side by side."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // max(jobs, 1))


def run_parallel(specs: Sequence[Dict[str, Any]], jobs: int = 1,
                 threads: Optional[int] = None, verbose: bool = False,
                 root: str = REPO_ROOT) -> List[Tuple[int, float]]:
    """Run commands, ``jobs`` at a time, each with ``OMP_NUM_THREADS =
    threads``; return ``(exit code, wall seconds)`` of each, in the order of
    ``specs``.

    Each spec: ``cmd`` (argv), ``log`` (file the output is appended to),
    ``label`` (shown in front of its lines) and ``epochs`` (for the
    one-line-per-epoch echo). With one job the output is echoed as it comes;
    with several, each run's lines are prefixed by its label.
    """
    env = dict(os.environ)
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    pending = list(enumerate(specs))
    codes: List[Optional[int]] = [None] * len(specs)
    started = [0.0] * len(specs)
    wall = [0.0] * len(specs)
    sel = selectors.DefaultSelector()  # one registration per running job
    while pending or sel.get_map():
        while pending and len(sel.get_map()) < max(jobs, 1):
            i, spec = pending.pop(0)
            log = open(spec['log'], 'a', encoding='utf-8')
            started[i] = time.time()
            proc = subprocess.Popen(spec['cmd'], cwd=root, env=env,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    bufsize=1)
            sel.register(proc.stdout, selectors.EVENT_READ,
                         (i, spec, proc, log))
        for key, _ in sel.select(timeout=1.0):
            i, spec, proc, log = key.data
            line = proc.stdout.readline()
            if not line:  # EOF: the process is done
                sel.unregister(proc.stdout)
                codes[i] = proc.wait()
                wall[i] = time.time() - started[i]
                log.close()
                continue
            log.write(line)
            shown = line.rstrip() if verbose else _echo(line, spec['epochs'])
            if shown:
                prefix = f'{spec["label"]}: ' if jobs > 1 else ''
                print(f'  {prefix}{shown}', flush=True)
    sel.close()
    return [(int(c), w) for c, w in zip(codes, wall)]


def prepare_run(run_dir: str, cfg, epochs: int, force: bool, label: str,
                tag: str = 'table6', root: str = REPO_ROOT
                ) -> Dict[str, Any]:
    """Decide what one run needs (see :func:`pretrain`): ``reused`` with
    its result, or the ``cmd`` / ``log`` spec to train or resume it."""
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
        print(f'[{tag}] {label}: reusing {rel(ckpt)}', flush=True)
        return dict(reused=True, result=dict(
            ckpt=ckpt, seconds=0.0, reused=True, **_read_json(info_path)))
    resume = (not force and same_cfg
              and osp.isfile(osp.join(run_dir, 'last_checkpoint')))
    if not resume and osp.isdir(run_dir):
        shutil.rmtree(run_dir)  # a stale or forced run: start clean
    os.makedirs(run_dir, exist_ok=True)
    with open(cfg_path, 'w', encoding='utf-8') as f:
        f.write(text)
    with open(sig_path, 'w', encoding='utf-8') as f:
        f.write(sig + '\n')
    cmd = [sys.executable, osp.join(root, 'tools', 'train.py'), cfg_path,
           '--work-dir', run_dir] + (['--resume'] if resume else [])
    log_path = osp.join(run_dir, 'train_console.log')
    print(f'[{tag}] {label}: {"resuming" if resume else "pretraining"} -> '
          f'{rel(run_dir)} (log: {rel(log_path)})', flush=True)
    return dict(reused=False, cmd=cmd, log=log_path, label=label,
                epochs=epochs, ckpt=ckpt, info_path=info_path,
                resume=resume, run_dir=run_dir)


def _finish_run(spec: Dict[str, Any], rc: int, seconds: float,
                tag: str) -> Dict[str, Any]:
    info_path, ckpt = spec['info_path'], spec['ckpt']
    # time of earlier, interrupted attempts of this run is kept and summed
    prev = (_read_json(info_path).get('train_seconds', 0.0)
            if spec['resume'] else 0.)
    ok = rc == 0 and osp.isfile(ckpt)
    info = dict(train_seconds=prev + seconds, finished=ok)
    with open(info_path, 'w') as f:
        json.dump(info, f)
    if not ok:
        with open(spec['log'], encoding='utf-8', errors='replace') as f:
            tail = f.readlines()[-40:]
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'[{tag}] {spec["label"]}: training failed (exit '
                         f'{rc}); full log {spec["log"]}; rerun the command '
                         'to resume')
    return dict(ckpt=ckpt, seconds=seconds, reused=False, **info)


def pretrain_many(runs: Sequence[Dict[str, Any]], epochs: int, force: bool,
                  verbose: bool, tag: str = 'table6', root: str = REPO_ROOT,
                  jobs: int = 1, threads: Optional[int] = None
                  ) -> List[Dict[str, Any]]:
    """:func:`pretrain` for several runs (each ``run_dir``, ``cfg``,
    ``label``), ``jobs`` at a time with ``threads`` each. Runs trained side
    by side take the same steps as one after another, but their floating
    point sums may round differently with another thread count."""
    preps = [prepare_run(r['run_dir'], r['cfg'], epochs, force, r['label'],
                         tag, root) for r in runs]
    todo = [p for p in preps if not p['reused']]
    codes = iter(run_parallel(todo, jobs=jobs, threads=threads,
                              verbose=verbose, root=root) if todo else [])
    return [p['result'] if p['reused'] else _finish_run(p, *next(codes), tag)
            for p in preps]


def pretrain(run_dir: str, cfg, epochs: int, force: bool, verbose: bool,
             label: str, tag: str = 'table6',
             root: str = REPO_ROOT) -> Dict[str, Any]:
    """Train one run with ``tools/train.py`` unless it is finished.

    The run is identified by a SHA-256 of the resolved config text written
    into ``run_dir``: a finished run of the same config is reused, an
    interrupted one resumes from its last checkpoint, a finished run of
    another config is refused (``force`` replaces it). Returns ``ckpt``,
    ``seconds`` (this call's training time, 0 when reused), ``reused`` and
    the run's ``train_seconds`` / ``finished`` record. ``root`` is the
    repository whose ``tools/train.py`` runs (the working directory)."""
    return pretrain_many([dict(run_dir=run_dir, cfg=cfg, label=label)],
                         epochs, force, verbose, tag, root)[0]


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


#: per-epoch NN statistics: class, scene (the generator's ``looks``) and
#: both, of the NN queue's picks (``nnq``) and of the intra-queue probe (``iq``)
AGREE_KEYS = tuple(f'{q}_{f}_agree' for q in ('nnq', 'iq')
                   for f in ('label', 'looks', 'label_looks'))


def nn_curves(rows: Sequence[dict], iters_per_epoch: int) -> Dict[str, Any]:
    """Per-epoch NN agreement (:data:`AGREE_KEYS`; NN queue and intra-queue
    probe) and the run-mean same-video NN fractions."""
    out: Dict[str, Any] = {}
    for key in AGREE_KEYS:
        out[key] = epoch_means(rows, key, iters_per_epoch)
    for key in ('nnq_same_video', 'iq_same_video'):
        v = [float(r[key]) for r in rows if key in r]
        out[key] = float(np.mean(v)) if v else None
    return out
