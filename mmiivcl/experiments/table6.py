"""The IIVCL paper's Table 6 at small scale: the pieces behind
``tools/reproduce_table6.py``.

Lists and data splits, the per-run configs (batch and queue planned for a
small set), the cached feature evaluation (retrieval and a feature-cache
linear probe), the statistics per setting, the generated reading, the NN
label-agreement figure and the report page.
"""
import hashlib
import os
import os.path as osp
import platform
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .runs import AGREE_KEYS, find_transform, fit_schedule
from .stats import average_ranks, compare, fmt_ms, mean_sd


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

#: Quoted from the IIVCL paper, Table 6 (K400 pretraining, 200 epochs, one run
#: per
#: cell) for context only; nothing here is a result of this tool.
PAPER_TABLE6 = {
    'tasks': ('UCF finetune', 'HMDB finetune', 'SSv2 finetune',
              'K400 linear', 'AVA finetune'),
    'rho_moco': (91.1, 65.3, 53.6, 65.4, 18.6),
    'iivcl': (92.6, 65.8, 53.8, 65.7, 19.0),
    'nn_only': (91.2, 66.2, 53.2, 63.7, 18.4),
}


def plan_training(cfg, num_train: int, batch_size: Optional[int],
                  queue_len: Optional[int]) -> Dict[str, int]:
    """Batch size and queue length for ``num_train`` videos: the queue
    holds fewer than half of the training videos
    (docs/design.md#small-data-sets-and-the-demo) and at least
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
    if data.get('meta_file'):  # the generated set: NN scene agreement too
        cfg.train_dataloader.dataset.meta_file = data['meta_file']
        cfg.train_dataloader.dataset.meta_fields = ('looks', )
        for h in cfg.get('custom_hooks', []):
            if h.get('type') in ('NNQueueStatsHook', 'QueueNNProbeHook'):
                h['meta_fields'] = ('looks', )
    cfg.pop('work_dir', None)
    return cfg


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


#: The reference rows without a network (key, name): scene alone, motion
#: alone (see :mod:`mmiivcl.analysis.reference_features`).
REFERENCES = (
    ('look_oracle', 'scene only: the look itself (oracle) ‡'),
    ('mean_colour', 'mean colour (no network) §'),
    ('colour_layout', 'colour layout (no network) §'),
    ('motion', 'motion only: optical flow (no network)'),
)


def reference_features_cached(data: Dict[str, Any], cache: str,
                              force: bool = False
                              ) -> Dict[str, Dict[str, Dict[str, np.ndarray]]]:
    """kind -> role -> {feats, labels, sample_idx} of every reference
    feature (:func:`mmiivcl.analysis.reference_features.reference_features`
    over the train and query videos), cached in ``cache`` under a signature
    of the video lists and the feature kinds."""
    from mmiivcl.analysis.reference_features import KINDS, reference_features
    sig = hashlib.sha1(repr((osp.abspath(data['video_root']), data['train'],
                             data['query'], KINDS, 2)).encode()).hexdigest()
    z = None
    if osp.isfile(cache) and not force:
        z = np.load(cache, allow_pickle=False)
        if str(z['signature']) != sig:
            z = None
    if z is None:
        arrays = {'signature': np.array(sig)}
        for role in ('train', 'query'):
            print(f'[table6] reference features of the {role} videos',
                  flush=True)
            f = reference_features([p for p, _ in data[role]],
                                   data['video_root'])
            for k in KINDS:
                arrays[f'{k}_{role}'] = f[k]
        os.makedirs(osp.dirname(osp.abspath(cache)), exist_ok=True)
        np.savez(cache, **arrays)
        z = np.load(cache, allow_pickle=False)
    return {k: {r: dict(feats=z[f'{k}_{r}'], labels=data[f'{r}_labels'],
                        sample_idx=np.arange(len(data[r])))
                for r in ('train', 'query')} for k in KINDS}


def _standardised(feats: Dict[str, Dict[str, np.ndarray]]
                  ) -> Dict[str, Dict[str, np.ndarray]]:
    """Both roles scaled by the training features' mean and std, so that no
    dimension of a hand-made feature dominates the cosine retrieval."""
    tr = feats['train']['feats']
    mu, sd = tr.mean(0), tr.std(0) + 1e-6
    return {r: dict(d, feats=(d['feats'] - mu) / sd)
            for r, d in feats.items()}


def evaluate_references(data: Dict[str, Any], cache: str,
                        force: bool = False, probe_c: float = 1.0
                        ) -> List[Dict[str, Any]]:
    """The reference rows of :data:`REFERENCES` (R@1, R@5, linear in
    percent; the look oracle only with the generator's looks, R@5 None)."""
    from mmiivcl.analysis.reference_features import oracle_by_field
    feats = reference_features_cached(data, cache, force)
    rows = []
    for key, name in REFERENCES:
        if key == 'look_oracle':
            if data.get('train_looks') is None or \
                    not (np.asarray(data['train_looks']) >= 0).any():
                continue
            ev = oracle_by_field(data['train_labels'], data['train_looks'],
                                 data['query_labels'], data['query_looks'])
            ev['R@5'] = None
        else:
            ev = evaluate_features(_standardised(feats[key]), probe_c)
        rows.append(dict(key=key, name=name, **ev))
    return rows


def evaluate_runs(runs: Dict[Tuple[str, int], Dict[str, Any]],
                  seeds: Sequence[int], settings: Sequence[str],
                  data: Dict[str, Any], pipeline: list, work_dir: str,
                  iters_per_epoch: int, batch_size: int = 16,
                  workers: int = 2, force: bool = False,
                  probe_c: float = 1.0
                  ) -> Tuple[Dict[str, List[dict]], Dict[str, List[dict]],
                             List[dict]]:
    """Retrieval and linear probe of every finished run (features cached in
    its run dir) and of a random backbone per seed, plus each run's NN
    statistics per epoch from its scalar log.

    Args:
        runs: (setting, seed) -> the run's ``run_dir``, ``ckpt`` and
            ``train_seconds`` (:func:`mmiivcl.experiments.runs.pretrain_many`).

    Returns:
        per_seed (setting -> evaluations in seed order), per_seed_curves
        (setting -> per-seed epoch curves) and the random-init evaluations.
    """
    from .runs import nn_curves, read_scalars
    per_seed: Dict[str, List[dict]] = {k: [] for k in settings}
    curves: Dict[str, List[dict]] = {k: [] for k in settings}
    random_init: List[dict] = []

    def echo(name, ev):
        print(f'[table6] {name}: R@1 {ev["R@1"]:.1f}  R@5 {ev["R@5"]:.1f}  '
              f'linear {ev["linear"]:.1f}', flush=True)
    for seed in seeds:
        for k in settings:
            r = runs[(k, seed)]
            feats = extract_cached(
                osp.join(r['run_dir'], 'table6_config.py'), r['ckpt'], seed,
                osp.join(r['run_dir'], 'features.npz'), data, pipeline,
                batch_size, workers, force)
            ev = evaluate_features(feats, probe_c)
            ev['train_seconds'] = r.get('train_seconds')
            per_seed[k].append(ev)
            curves[k].append(nn_curves(read_scalars(r['run_dir']),
                                       iters_per_epoch))
            echo(f'{k} seed {seed}', ev)
        feats = extract_cached(
            osp.join(runs[(settings[0], seed)]['run_dir'],
                     'table6_config.py'), None, seed,
            osp.join(work_dir, 'random_init', f'seed{seed}', 'features.npz'),
            data, pipeline, batch_size, workers, force)
        random_init.append(evaluate_features(feats, probe_c))
        echo(f'random init seed {seed}', random_init[-1])
    return per_seed, curves, random_init


def _ckpt_signature(ckpt: Optional[str]) -> str:
    if not ckpt:
        return 'random-init'
    st = os.stat(ckpt)
    return f'{osp.abspath(ckpt)}:{st.st_size}:{int(st.st_mtime)}'


def evaluate_features(feats: Dict[str, Dict[str, np.ndarray]],
                      probe_c: float = 1.0) -> Dict[str, float]:
    """R@1, R@5 (query vs train gallery) and linear-probe top-1 (percent)."""
    from mmiivcl.analysis.linear_probe import linear_probe
    from mmiivcl.retrieval import retrieval_from_features
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
    from mmiivcl.retrieval import retrieval_chance
    r = retrieval_chance(data['query_labels'], data['train_labels'], (1, 5))
    return {'R@1': r['R@1'], 'R@5': r['R@5'],
            'linear': probe_chance(data['train_labels'],
                                   data['query_labels']),
            'nn_agree': chance_label_agreement(data['train_labels']),
            **scene_chance(data)}


def scene_chance(data: Dict[str, Any]) -> Dict[str, float]:
    """Chance NN agreement of the scene (``looks`` of the generator's
    manifest) and of class and scene, over the training videos; empty
    without a manifest."""
    from mmiivcl.engine.hooks.nn_queue_stats_hook import (
        chance_label_agreement, joint_field)
    looks = data.get('train_looks')
    if looks is None or not (np.asarray(looks) >= 0).any():
        return {}
    both = joint_field(data['train_labels'], looks)
    return {'looks_agree': chance_label_agreement(looks),
            'label_looks_agree': chance_label_agreement(both)}


def iivcl_vs_rho_moco(results: Dict[str, Any]
                      ) -> Optional[Dict[str, Dict[str, Any]]]:
    """Per measure: :func:`compare` of IIVCL against rho-MoCo, or None."""
    per = results['per_seed']
    if 'iivcl' not in per or 'rho_moco' not in per:
        return None
    return {m: compare([r[m] for r in per['iivcl']],
                       [r[m] for r in per['rho_moco']]) for m, _ in MEASURES}


#: verdict of :func:`compare`, in words
VERDICT_WORDS = dict(clear_win='clearly ahead', lead='ahead',
                     noise='within the seed spread', behind='behind',
                     clear_loss='clearly behind', single='one seed: undecided')


def _headline(cmps: Dict[str, Dict[str, Any]], n: int) -> str:
    """'Does IIVCL beat rho-MoCo here?' answered from the verdicts."""
    titles = dict(MEASURES)
    v = {m: c['verdict'] for m, c in cmps.items()}

    def on(*keys):
        return _join([titles[m] for m, _ in MEASURES if v[m] in keys])
    q = '**Does IIVCL beat ρ-MoCo here? '
    if n < 2:
        return q + ('Undecided:** one seed gives no spread to judge a '
                    'difference against.')
    ahead, behind = on('clear_win', 'lead'), on('behind', 'clear_loss')
    if all(x == 'clear_win' for x in v.values()):
        return q + ('Yes:** on every measure, by at least twice the seed '
                    'spread and on every seed.')
    if ahead and not behind:
        return q + f'Partly:** IIVCL is ahead on {ahead}.'
    if behind and not ahead:
        return q + f'No:** ρ-MoCo is ahead on {behind}.'
    if behind:
        return q + f'Mixed:** ahead on {ahead}, behind on {behind}.'
    return q + ('Not beyond the seed spread:** on every measure the gap is '
                'smaller than the larger seed std of the two settings.')


def verdict_table(results: Dict[str, Any]) -> str:
    """Every paired comparison behind the reading, one row per (pair,
    measure): mean gap, gap / larger seed std, seeds ahead, paired gap and
    the verdict; the settings against a random backbone on R@1 and linear
    top-1."""
    per, rand = results['per_seed'], results.get('random_init')
    names = {s['key']: s['name'] for s in SETTINGS}
    pairs = [(a, b, m) for a, b in (('iivcl', 'rho_moco'),
                                    ('iivcl', 'nn_only'),
                                    ('nn_only', 'rho_moco'))
             if a in per and b in per for m, _ in MEASURES]
    lines = ['| comparison | measure | Δ (points) | Δ / larger std | seeds '
             'ahead | paired Δ | verdict |', '|---|---|---:|---:|---:|---:|---|']

    def row(title, a, b, m):
        c = compare([r[m] for r in a], [r[m] for r in b])
        ratio = f'{c["ratio"]:.1f}' if np.isfinite(c['ratio']) else '–'
        lines.append(f'| {title} | {dict(MEASURES)[m]} | {c["delta"]:+.1f} | '
                     f'{ratio} | {c["wins"]} of {c["n"]} | '
                     f'{fmt_ms(*c["paired"])} | {VERDICT_WORDS[c["verdict"]]} |')
    for a, b, m in pairs:
        row(f'{names[a]} vs {names[b]}', per[a], per[b], m)
    if rand:
        for k in SETTING_KEYS:
            if k in per:
                for m in ('R@1', 'linear'):
                    row(f'{names[k]} vs random init', per[k], rand, m)
    return '\n'.join(lines)


def ordering(results: Dict[str, Any]) -> str:
    """The settings in order of average rank and of R@1, beside the paper's
    order (average rank over its five Table 6 tasks)."""
    names = {s['key']: s['name'] for s in SETTINGS}
    st, ar = results['stats'], results.get('avg_rank') or {}
    keys = [k for k in SETTING_KEYS if k in st]
    by_r1 = sorted(keys, key=lambda k: -st[k]['R@1'][0])
    tasks = PAPER_TABLE6['tasks']
    paper = average_ranks({k: dict(zip(tasks, PAPER_TABLE6[k]))
                           for k in SETTING_KEYS}, tasks)
    out = ('Ordering here by R@1: ' + ' > '.join(
        f'{names[k]} {st[k]["R@1"][0]:.1f}' for k in by_r1))
    if ar:
        out += ('; by average rank over R@1, R@5 and linear top-1 (1 = '
                'best): ' + ', '.join(f'{names[k]} {ar[k]:.1f}'
                                     for k in sorted(ar, key=ar.get)))
    return out + ('. The paper\'s order by average rank over its five tasks: '
                  + ', '.join(f'{names[k]} {paper[k]:.1f}'
                              for k in sorted(paper, key=paper.get)) + '.')


def scene_vs_motion(results: Dict[str, Any]) -> str:
    """What the reference rows say: how far the scene alone and the motion
    alone classify the held-out videos; '' without them."""
    refs = {r['key']: r for r in results.get('references', [])}
    if 'motion' not in refs:
        return ''
    # the oracle is the scene and nothing else; colour statistics are not
    best = refs.get('look_oracle') or refs.get('mean_colour')
    if best is None:
        return ''
    mot = refs['motion']['linear']
    gap = mot - best['linear']
    chance = results['chance']['linear']
    verdict = ('so a model can only get far by encoding motion; the scene '
               'alone cannot win' if gap >= 20 else
               'so the scene alone classifies nearly as well as the motion')
    name = best['name'].split(' ‡')[0].split(' §')[0]
    return (f'Scene alone vs motion alone (linear top-1 on the held-out '
            f'videos, chance {chance:.1f}): {name} reaches '
            f'{best["linear"]:.1f}, the optical-flow descriptor {mot:.1f} '
            f'({gap:+.1f} points), {verdict}.')


def reading(results: Dict[str, Any]) -> List[str]:
    """The generated reading (Markdown blocks): the headline, the verdict
    table with its rule, the orderings and the scene/motion references."""
    out: List[str] = []
    cmps = iivcl_vs_rho_moco(results)
    if cmps:
        out.append(_headline(cmps, len(results['seeds'])))
    if results['per_seed']:
        out += [verdict_table(results),
                'Verdict rule: "clearly" = the mean gap is at least twice the '
                'larger of the two settings\' seed stds *and* of the same sign '
                'on every seed; "ahead" / "behind" = at least one std.']
    if results.get('stats'):
        out.append(ordering(results))
    sm = scene_vs_motion(results)
    if sm:
        out.append(sm)
    return out


def _first_last(curve_stats):
    """(mean, std) at the first and last epoch from per-seed curves."""
    if not curve_stats:
        return None, None
    eps = sorted(curve_stats)
    return curve_stats[eps[0]], curve_stats[eps[-1]]


def _plural(n: int, word: str) -> str:
    return f'{n} {word}' + ('' if n == 1 else 's')


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def scale_table(results: Dict[str, Any]) -> str:
    """What limits the comparison, as a table: this study's scale next to the
    paper's Table 6 set-up, one row per factor, and the consequence each
    number implies (chosen by the numbers, e.g. whether a paper-size gap is
    resolvable with the seed spread measured here)."""
    cmps = iivcl_vs_rho_moco(results)
    if not cmps:
        return ''
    setup = results['setup']
    paper = [i - r for i, r in zip(PAPER_TABLE6['iivcl'],
                                   PAPER_TABLE6['rho_moco'])]
    lo, hi = min(paper), max(paper)
    rows = []
    spreads = [c['spread'] for c in cmps.values()
               if np.isfinite(c['spread'])]
    if spreads:
        sd = max(spreads)
        rows.append((
            'seed spread',
            f'{len(results["seeds"])} seeds, largest std {sd:.1f}: a clear '
            f'gap needs >= {2 * sd:.1f} points',
            f'one run per cell; IIVCL - ρ-MoCo {lo:.1f} to {hi:.1f} points',
            'a paper-size gap is ' + ('resolvable' if 2 * sd <= lo else
                                      'not resolvable here')))
    nq = setup['num_query']
    rows.append(('held-out videos', f'{nq}: one video = {100.0 / nq:.2f} '
                 'points of R@1 or linear top-1', 'UCF101 / HMDB51 test '
                 'splits, K400 val', ''))
    curves = results.get('curves', {}).get('iivcl', {})
    _, last = _first_last(curves.get('nnq_label_agree'))
    ca = results['chance']['nn_agree']
    if last is not None and ca > 0:
        ratio = last[0] / ca
        rows.append((
            "IIVCL's NN positives of the query's class (last epoch)",
            f'{last[0]:.2f} (chance {ca:.2f}, {ratio:.1f}x)',
            'NNs become semantic as the embedding improves (Fig. 3b)',
            'near chance: L_NN mostly pulls other-class videos together'
            if ratio < 2 else 'NN quality is not the bottleneck'))
    q_videos = setup['queue_len'] // max(setup['rho'], 1)
    rows.append((
        'NN queue', f'{q_videos} videos (~'
        f'{q_videos / max(setup["num_classes"], 1):.1f} per class) of '
        f'{setup["num_train"]} training videos (capped below half: '
        '[design](design.md#small-data-sets-and-the-demo))',
        '65536 keys', 'far fewer NN candidates per query'))
    rows.append((
        'schedule', f'{_plural(setup["epochs"], "epoch")} x '
        f'{_plural(setup["iters_per_epoch"], "iteration")} at batch '
        f'{setup["batch_size"]}, {setup["clip"]}',
        '200 epochs of Kinetics-400, 8 x 224² clips', ''))
    lines = ['| factor | here | paper (Table 6) | consequence |',
             '|---|---|---|---|']
    lines += [f'| {a} | {b} | {c} | {d} |' for a, b, c, d in rows]
    return '\n'.join(lines)


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


def _curve_panel(ax, results: Dict[str, Any], field: str, chance: float,
                 ylabel: str, title: str) -> None:
    for (k, key), (label, color, ls) in CURVE_STYLE.items():
        st = results['curves'].get(k, {}).get(
            key.replace('_label_agree', f'_{field}_agree'))
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
    ax.axhline(chance, color='grey', ls='--', lw=1, label='chance')
    ax.set_xlabel('pretraining epoch')
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.set_title(f'{title} (mean ± std, {len(results["seeds"])} seeds)',
                 fontsize=10)
    ax.legend(fontsize=7.5, loc='upper left')


def draw_figure(results: Dict[str, Any], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    scene = 'looks_agree' in results['chance']
    fig, axes = plt.subplots(
        1, 3 if scene else 2, figsize=(16 if scene else 11, 4.0),
        gridspec_kw=dict(width_ratios=[1.35, 1.35, 1] if scene else
                         [1.35, 1]))
    _curve_panel(axes[0], results, 'label', results['chance']['nn_agree'],
                 'NN has the query\'s class (fraction)', 'NN label agreement')
    if scene:
        _curve_panel(axes[1], results, 'looks',
                     results['chance']['looks_agree'],
                     'NN has the query\'s scene (fraction)',
                     'NN scene agreement')
    ax = axes[-1]
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
    for ref in results.get('references', []):
        lines.append(f'| {ref["name"]} | – | – ' + ''.join(
            '| – ' if ref.get(m) is None else f'| {ref[m]:.1f} '
            for m, _ in MEASURES) + '| – | – | – |')
    lines.append('| chance | – | – ' + ''.join(
        f'| {ch[m]:.1f} ' for m, _ in MEASURES) +
        f'| – | {ch["nn_agree"]:.2f} | – |')
    return '\n'.join(lines)


#: (setting, queue prefix) whose NN picks the NN-statistics table shows
PICK_ROWS = (('iivcl', 'nnq', 'NN positives'),
             ('nn_only', 'nnq', 'NN positives'),
             ('rho_moco', 'iq', 'Eq.3 NN in its intra queue †'),
             ('iivcl', 'iq', 'Eq.3 NN in its intra queue †'))
PICK_FIELDS = (('label', 'class'), ('looks', 'scene'),
               ('label_looks', 'class and scene'))


def nn_pick_table(results: Dict[str, Any]) -> str:
    """What the NN picks share with the query, first epoch -> last (mean ±
    std over seeds), against chance; '' without scene statistics."""
    ch = results['chance']
    if 'looks_agree' not in ch:
        return ''
    names = {s['key']: s['name'] for s in SETTINGS}
    head = ('| setting | neighbour | ' + ' | '.join(
        f'shares the {t}, epoch 1 → last' for _, t in PICK_FIELDS) + ' |')
    lines = [head, '|---|---|' + '---|' * len(PICK_FIELDS)]
    for k, q, what in PICK_ROWS:
        cur = results['curves'].get(k, {})
        if not cur.get(f'{q}_label_agree'):
            continue
        cells = []
        for f, _ in PICK_FIELDS:
            first, last = _first_last(cur.get(f'{q}_{f}_agree'))
            cells.append('n/a' if first is None else
                         f'{first[0]:.2f} → {fmt_ms(*last, digits=2)}')
        lines.append(f'| {names[k]} | {what} | ' + ' | '.join(cells) + ' |')
    chance = {'label': ch['nn_agree'], 'looks': ch['looks_agree'],
              'label_looks': ch['label_looks_agree']}
    lines.append('| chance | a random training video | ' + ' | '.join(
        f'{chance[f]:.2f}' for f, _ in PICK_FIELDS) + ' |')
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


def _reference_notes(results: Dict[str, Any]) -> str:
    """Footnotes of the reference rows ('' without them)."""
    keys = {r['key'] for r in results.get('references', [])}
    if not keys:
        return ''
    out = ['Reference rows without a network '
           '(`mmiivcl/analysis/reference_features.py`): features of the '
           'whole video, standardised with the training statistics, then the '
           'same retrieval and probe. Optical flow: the object\'s velocity, '
           'divergence, curl and turning over the video, camera motion '
           'removed (no colour, no position).']
    if 'look_oracle' in keys:
        out.append('‡ The look oracle knows every video\'s look (the '
                   'generator\'s manifest) and predicts the most frequent '
                   'training class of that look; its R@1 is the expected R@1 '
                   'of retrieving a random training video of the same look: '
                   'the best a scene-only model can do on this data.')
    if keys & {'mean_colour', 'colour_layout'}:
        out.append('§ Colour statistics are mostly the scene, but not only: '
                   'the moving object\'s size and average position leave a '
                   'trace in them. Mean colour: per-channel mean and std over '
                   'all pixels and frames; colour layout: the mean colour of '
                   'each cell of a 4 x 4 grid over the video.')
    return '\n\n'.join(out)


def write_doc(results: Dict[str, Any], path: str, figure: str) -> str:
    s, m = results['setup'], results['machine']
    fig_rel = osp.relpath(osp.abspath(figure), osp.dirname(osp.abspath(path)))
    paper = PAPER_TABLE6
    paper_rows = '\n'.join(
        f'| {st["name"]} | {st["lambda_intra"]:.1f} | {st["lambda_nn"]:.1f} | '
        + ' | '.join(f'{v:.1f}' for v in paper[st['key']]) + ' |'
        for st in SETTINGS)
    scale = scale_table(results)
    t = results['timing']
    doc = f"""# The IIVCL paper's Table 6 at small scale: ρ-MoCo vs IIVCL vs NN only

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

- **Question (IIVCL paper, Table 6).** Do NN positives help? Three weightings
of
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

{_reference_notes(results)}

![NN label agreement over pretraining and downstream results]({fig_rel})

NN label agreement per epoch (mean ± std over seeds; the curve of the
figure):

{curve_table(results)}

{_picks_section(results)}

Per seed:

{per_seed_table(results)}

## Reading (generated from the numbers above)

{chr(10).join(p + chr(10) for p in reading(results))}
{"## Scale here vs the paper's (what limits the comparison)" if scale else ""}

{scale}

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
    page = _merge_variant(path, results, doc)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return page


def variant_of(results: Dict[str, Any]) -> Tuple[float, str]:
    """(look_bias, heading) of the data variant of a run."""
    b = float(results.get('variant', {}).get('look_bias', 0.0))
    if b == 0:
        return b, 'Scenes independent of the class (the default demo set)'
    return b, (f'Scene-action correlation: a video takes its class\'s own '
               f'look with probability {b:g} (`--look-bias {b:g}`)')


_SECTION = re.compile(r'<!-- table6 look_bias=(\S+) -->\n(.*?)'
                      r'<!-- /table6 look_bias=\1 -->\n', re.S)


def _merge_variant(path: str, results: Dict[str, Any], doc: str) -> str:
    """The page with this variant's section replaced (other variants'
    sections, written by their own commands, are kept)."""
    bias, heading = variant_of(results)
    body = re.sub(r'^# .*\n', f'## {heading}\n', doc, count=1)
    body = re.sub(r'^## (?!' + re.escape(heading) + ')', '### ', body,
                  flags=re.M)
    sections = {}
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            old = f.read()
        sections = {float(m.group(1)): m.group(2)
                    for m in _SECTION.finditer(old)}
    sections[bias] = body
    head = (
        "# The IIVCL paper's Table 6 at small scale: ρ-MoCo vs IIVCL vs NN "
        'only\n\n'
        '*Generated by `tools/reproduce_table6.py`, one section per data '
        'variant, each written by its own command (given in the section); '
        'do not edit by hand.*\n\n'
        + ''.join(f'- [{h}](#{_anchor(h)})\n' for h in (
            variant_of(dict(variant=dict(look_bias=b)))[1]
            for b in sorted(sections))) + '\n')
    return head + ''.join(
        f'<!-- table6 look_bias={b:g} -->\n{sections[b].rstrip()}\n\n'
        f'<!-- /table6 look_bias={b:g} -->\n' for b in sorted(sections))


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    a = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return a.replace(' ', '-')


def _picks_section(results: Dict[str, Any]) -> str:
    """The NN-statistics table (class / scene / both) with a reading
    generated from it; '' without scene statistics."""
    table = nn_pick_table(results)
    if not table:
        return ''
    ch = results['chance']
    out = ['What the neighbours share with the query (fraction of NN picks '
           'whose video has the query\'s class, its scene -- the '
           'generator\'s look -- or both; first and last epoch, mean ± std '
           'over seeds):', '', table, '']
    cur = results['curves'].get('iivcl', {})
    _, cls = _first_last(cur.get('nnq_label_agree'))
    _, scn = _first_last(cur.get('nnq_looks_agree'))
    if cls is not None and scn is not None:
        ratio_s = scn[0] / ch['looks_agree'] if ch['looks_agree'] else 0
        ratio_c = cls[0] / ch['nn_agree'] if ch['nn_agree'] else 0
        bias = variant_of(results)[0]
        if ratio_s <= 2 * max(ratio_c, 1e-9):
            verdict = 'so the NN positives are not dominated by the scene'
        elif bias:
            verdict = ('so the NN loss still mostly pulls together videos '
                       'filmed in the same scene; on this variant a shared '
                       'scene makes a shared class more likely (look bias '
                       f'{bias:g}), which the class agreement above chance '
                       'reflects' if ratio_c >= 1.5 else
                       'so the NN loss mostly pulls together videos filmed '
                       'in the same scene, and even with the look bias '
                       f'{bias:g} the class agreement stays near chance')
        else:
            verdict = ('so on this data the NN loss mostly pulls together '
                       'videos filmed in the same scene, which says nothing '
                       'about the motion classes')
        out.append(
            f'By the last epoch IIVCL\'s NN positives share the query\'s '
            f'scene in {scn[0]:.2f} of the picks ({ratio_s:.1f}x chance '
            f'{ch["looks_agree"]:.2f}) and its class in {cls[0]:.2f} '
            f'({ratio_c:.1f}x chance {ch["nn_agree"]:.2f}), {verdict}.')
    return '\n'.join(out)


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
        for key in AGREE_KEYS:
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
