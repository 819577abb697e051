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
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

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
    cmd = [sys.executable, osp.join(root, 'tools', 'train.py'), cfg_path,
           '--work-dir', run_dir] + (['--resume'] if resume else [])
    log_path = osp.join(run_dir, 'train_console.log')
    print(f'[{tag}] {label}: {"resuming" if resume else "pretraining"} -> '
          f'{rel(run_dir)} (log: {rel(log_path)})', flush=True)
    t0 = time.time()
    with open(log_path, 'a', encoding='utf-8') as log:
        proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE,
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
        raise SystemExit(f'[{tag}] {label}: training failed (exit {rc}); '
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
