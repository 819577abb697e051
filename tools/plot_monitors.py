#!/usr/bin/env python
"""Plot the monitors of a pretraining run from its mmengine scalar log.

Reads ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (written by mmengine's
``LocalVisBackend``; the newest run if several) and draws, against the
training iteration: the NN label agreement and same-video fraction of
``NNQueueStatsHook`` (with the chance agreement of the training labels if
given), the mean NN similarity, and the kNN monitor's top-1 accuracy
(``KNNMetric``, at its validation epochs).

    python tools/plot_monitors.py work_dirs/iivcl_r3d18_demo_monitor \\
        --out docs/figures/monitors.png [--chance 0.1]
"""
import argparse
import glob
import json
import os
import os.path as osp


class _HelpFormatter(argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, every flag with its default."""


def read_scalars(work_dir):
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    with open(files[-1], encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=_HelpFormatter)
    p.add_argument('work_dir', help='work dir of the pretraining run')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--chance', type=float, default=None,
                   help='chance NN label agreement (sum_c p_c^2)')
    p.add_argument('--smooth', type=int, default=5,
                   help='running mean over this many measurements')
    args = p.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = read_scalars(args.work_dir)
    train = [r for r in rows if 'nnq_fill' in r]
    val = [r for r in rows if 'knn_top1' in r]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ax = axes[0]
    import numpy as np
    for key, name in (('nnq_label_agree', 'NN label agreement'),
                      ('nnq_same_video', 'NN from own video'),
                      ('nnq_sim_mean', 'mean NN similarity')):
        pts = [(r['iter'], r[key]) for r in train if key in r]
        if not pts:
            continue
        x, y = map(np.asarray, zip(*pts))
        w = max(1, min(args.smooth, len(y)))
        if w > 1:  # raw values faint, running mean of w measurements bold
            line, = ax.plot(x, y, lw=0.8, alpha=0.3)
            ys = np.convolve(y, np.ones(w) / w, mode='valid')
            ax.plot(x[w - 1:], ys, color=line.get_color(), lw=1.6,
                    label=f'{name} (mean of {w})')
        else:
            ax.plot(x, y, lw=1.2, label=name)
    if args.chance is not None:
        ax.axhline(args.chance, color='grey', ls='--', lw=1,
                   label='chance agreement')
    ax.set_xlabel('iteration')
    ax.set_ylim(-0.02, 1.02)
    ax.set_title('NNQueueStatsHook')
    ax.legend(fontsize=8)
    ax = axes[1]
    if val:
        # validation rows carry 'step' = epoch; map to iterations via the
        # last training row of that epoch when available
        it_of_epoch = {}
        for r in train:
            it_of_epoch[r.get('epoch')] = r['iter']
        xs = [it_of_epoch.get(r.get('step'), r.get('step')) for r in val]
        ax.plot(xs, [r['knn_top1'] for r in val], 'o-', label='kNN top-1')
        if 'knn_top5' in val[0]:
            ax.plot(xs, [r['knn_top5'] for r in val], 's--',
                    label='kNN top-5')
        ax.legend(fontsize=8)
    ax.set_xlabel('iteration')
    ax.set_ylabel('%')
    ax.set_title('kNN monitor (held-out videos)')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f'wrote {args.out} ({len(train)} training and {len(val)} '
          'validation log rows)')


if __name__ == '__main__':
    main()
