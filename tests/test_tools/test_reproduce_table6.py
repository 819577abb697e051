"""tools/reproduce_table6.py and its pieces.

* the feature-cache linear probe: 100 % on linearly separable features,
  chance-level on label noise, chance = sum_c p_train(c) p_test(c);
* QueueNNProbeHook pointed at the NN queue reproduces NNQueueStatsHook's
  statistics of the neighbours IIVCL actually picked (same step, same model);
* the statistics behind the reading (paired comparison verdicts, Table 6's
  average rank, schedule stretching, queue/batch planning) against hand
  counts, and the generated reading adapting to planted outcomes;
* one tiny end-to-end run (3 classes x 3 videos of 24 frames at 32 px,
  1 epoch, 1 seed, all three settings): table, figure, document and
  results.json are written with the expected structure and no typed-in
  numbers; a second call reuses every run and reproduces the numbers.
"""
import copy
import importlib.util
import json
import os.path as osp
import re
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmaction.registry import HOOKS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmiivcl.analysis.linear_probe import linear_probe, probe_chance
from mmiivcl.datasets.synthetic import generate_demo_dataset
from mmiivcl.experiments import runs as R
from mmiivcl.experiments import stats as S
from mmiivcl.experiments import table6 as X
from mmiivcl.experiments import table6_data as D

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'reproduce_table6', osp.join(REPO, 'tools', 'reproduce_table6.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _tool()


# --------------------------------------------------------------------------
# linear probe
# --------------------------------------------------------------------------
def test_linear_probe_separable_features_give_100_percent():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (4, 16)) * 10
    ytr = np.repeat(np.arange(4), 12)
    yte = np.repeat(np.arange(4), 5)
    xtr = centres[ytr] + rng.normal(0, 0.5, (len(ytr), 16))
    xte = centres[yte] + rng.normal(0, 0.5, (len(yte), 16))
    out = linear_probe(xtr, ytr, xte, yte)
    assert out['top1'] == 100.0 and out['train_top1'] == 100.0
    assert out['num_classes'] == 4 and out['num_test'] == 20
    assert out['chance'] == pytest.approx(25.0)
    # unlabelled rows (-1) are ignored, not counted as errors
    out = linear_probe(xtr, ytr, np.vstack([xte, xte[:1]]),
                       np.append(yte, -1))
    assert out['top1'] == 100.0 and out['num_test'] == 20


def test_linear_probe_on_label_noise_is_near_chance():
    rng = np.random.default_rng(1)
    xtr, xte = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    ytr, yte = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    out = linear_probe(xtr, ytr, xte, yte)
    assert abs(out['top1'] - out['chance']) < 10


def test_probe_chance_hand_count():
    # train p = (3/4, 1/4), test p = (1/2, 1/2) -> 3/8 + 1/8 = 50 %
    assert probe_chance([0, 0, 0, 1], [0, 1]) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        linear_probe(np.zeros((3, 2)), [0, 0, 0], np.zeros((1, 2)), [0])


# --------------------------------------------------------------------------
# QueueNNProbeHook == NNQueueStatsHook on the NN queue
# --------------------------------------------------------------------------
class _Dataset:
    def __init__(self, labels):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return dict(label=self.labels[i], sample_idx=i)


TINY_IIVCL = dict(
    type='IIVCL',
    backbone=dict(type='ResNet3d', depth=18, pretrained=None,
                  pretrained2d=False, base_channels=8,
                  conv1_kernel=(1, 3, 3), conv1_stride_t=1,
                  pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False),
    head_intra=dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                    out_channels=16, num_layers=3),
    head_nn=dict(type='ProjectionMLP', in_channels=64, hid_channels=32,
                 out_channels=16, num_layers=3),
    feat_dim=16, queue_len=12, temperature=0.1, exclude_same_video=True,
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375],
                           format_shape='NCTHW'))


def test_queue_probe_on_nn_queue_matches_nn_queue_stats_hook():
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(TINY_IIVCL))
    model.init_weights()
    model.eval()
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    runner = SimpleNamespace(
        model=model, iter=0,
        message_hub=MessageHub.get_instance(f't6_{uuid.uuid4().hex}'),
        train_dataloader=SimpleNamespace(dataset=_Dataset(labels)))
    stats = HOOKS.build(dict(type='NNQueueStatsHook', interval=1))
    probe = HOOKS.build(dict(type='QueueNNProbeHook', queue='queue_nn',
                             prefix='pq', interval=1))
    intra = HOOKS.build(dict(type='QueueNNProbeHook', queue='queue_intra',
                             prefix='iq', interval=1))
    hooks = (stats, probe, intra)
    for h in hooks:
        h.before_train(runner)
    rng = np.random.default_rng(0)
    compared = 0
    for it in range(6):
        runner.iter = it
        vid = rng.choice(len(labels), 3, replace=False).tolist()
        x = torch.randn(3, 2, 3, 4, 32, 32)
        samples = [ActionDataSample(metainfo=dict(sample_idx=i))
                   for i in vid]
        for h in hooks:
            h.before_train_iter(runner, it)
        with torch.no_grad():
            model.loss(x, samples)
        for h in hooks:
            h.after_train_iter(runner, it)
        hub = runner.message_hub
        if it == 0:  # empty queues before the first step: nothing found
            assert 'train/pq_label_agree' not in hub.log_scalars
            continue
        for key in ('label_agree', 'same_video', 'sim_mean', 'sim_std'):
            a = hub.get_scalar(f'train/nnq_{key}').current()
            b = hub.get_scalar(f'train/pq_{key}').current()
            assert b == pytest.approx(a, abs=1e-5), (it, key)
        assert hub.get_scalar('train/pq_same_video').current() == 0.0
        assert 0.0 <= hub.get_scalar('train/iq_label_agree').current() <= 1
        compared += 1
    assert compared == 5


def test_queue_probe_without_queue_logs_nothing():
    model = torch.nn.Module()
    runner = SimpleNamespace(
        model=model, iter=0,
        message_hub=MessageHub.get_instance(f't6_{uuid.uuid4().hex}'),
        train_dataloader=SimpleNamespace(dataset=_Dataset([0, 1])))
    hook = HOOKS.build(dict(type='QueueNNProbeHook', interval=1))
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    hook.after_train_iter(runner, 0)
    assert not any(k.startswith('train/iq_')
                   for k in runner.message_hub.log_scalars)
    with pytest.raises(ValueError):
        HOOKS.build(dict(type='QueueNNProbeHook', prefix='nnq'))


# --------------------------------------------------------------------------
# statistics and text
# --------------------------------------------------------------------------
def test_compare_verdicts_and_average_rank_by_hand():
    c = S.compare([10, 11, 12], [5, 6, 7])  # +5, std 1 each, all seeds
    assert c['delta'] == pytest.approx(5.0) and c['ratio'] == pytest.approx(5)
    assert c['verdict'] == 'clear_win' and c['wins'] == 3
    assert S.compare([10, 11, 12], [9.5, 10.5, 11.5])['verdict'] == 'noise'
    assert S.compare([5, 6, 7], [10, 11, 12])['verdict'] == 'clear_loss'
    assert S.compare([1.0], [0.0])['verdict'] == 'single'
    # ranks: a best on m1 (1), tie with b on m2 (1.5) -> a 1.25
    means = {'a': {'m1': 3, 'm2': 2}, 'b': {'m1': 2, 'm2': 2},
             'c': {'m1': 1, 'm2': 1}}
    r = S.average_ranks(means, ['m1', 'm2'])
    assert r == {'a': 1.25, 'b': 1.75, 'c': 3.0}


def test_fit_schedule_and_plan_training():
    sched = [dict(type='LinearLR', by_epoch=True, begin=0, end=1),
             dict(type='CosineAnnealingLR', T_max=11, by_epoch=True,
                  begin=1, end=12)]
    out = R.fit_schedule(sched, 16)
    assert out[1]['end'] == 16 and out[1]['T_max'] == 15
    assert [s['type'] for s in R.fit_schedule(sched, 1)] == ['LinearLR']
    cfg = Config.fromfile(T.CONFIG)
    plan = X.plan_training(cfg, 240, None, None)  # the demo as configured
    assert plan == dict(rho=2, batch_size=8, queue_len=96, bn_groups=2,
                        iters_per_epoch=30)
    plan = X.plan_training(cfg, 6, None, None)
    assert plan['queue_len'] == 4  # 2 videos < 6 / 2
    assert plan['batch_size'] * plan['rho'] <= plan['queue_len']
    # emulated shuffle-BN: never more BN groups than videos in a batch
    assert plan['bn_groups'] == plan['batch_size'] == 2


def test_console_shows_one_line_per_epoch():
    line = ('11/22 21:31:42 - mmengine - INFO - Epoch(train) [2][3/3]  lr: '
            '5.0000e-02  eta: 0:00:07  time: 3.8712  loss: 2.3290  '
            'acc_intra: 0.3333  nnq_label_agree: 0.5000  nnq_fill: 1.0000')
    assert R._echo(line, 4) == ('epoch 2/4  eta 0:00:07  loss 2.3290  '
                                'nnq_label_agree 0.5000')
    assert R._echo(line.replace('[3/3]', '[2/3]'), 4) is None
    assert R._echo('RuntimeError: boom', 4) == 'RuntimeError: boom'
    assert R._echo('11/22 - mmengine - INFO - building', 4) is None


def test_lists_from_a_class_folder(tmp_path):
    src = tmp_path / 'videos'
    for c in ('walk', 'run'):
        (src / c / 'sub').mkdir(parents=True)
        for i in range(4):
            (src / c / ('sub' if i == 3 else '') / f'{c}{i}.mp4').write_bytes(
                b'')
    (src / 'run' / 'notes.txt').write_text('not a video')
    out = D.lists_from_folder(str(src), str(tmp_path / 'lists'), 0.25)
    train, query = D.read_list(out['train_list']), D.read_list(
        out['query_list'])
    # labels follow the sorted class folders: run = 0, walk = 1
    assert (tmp_path / 'lists' / 'classes.txt').read_text().split() == [
        'run', 'walk']
    assert len(train) == 6 and len(query) == 2  # 1 of 4 per class held out
    assert sorted(lab for _, lab in query) == [0, 1]
    allv = sorted(train + query)
    assert ('run/sub/run3.mp4', 0) in allv and ('walk/walk0.mp4', 1) in allv
    assert not any(p.endswith('.txt') for p, _ in allv)


def _planted(iivcl, rho, nn_only, seeds=(0, 1, 2)):
    """Results dict as main() builds it, with planted linear/R@k values."""
    def ev(v):
        return {'R@1': v, 'R@5': v + 20, 'linear': v, 'linear_train': 99.0,
                'linear_converged': 1.0, 'feat_dim': 8}

    def curve(a, b):
        return {'nnq_label_agree': {1: a, 2: b}, 'iq_label_agree': {1: a,
                                                                     2: b},
                'nnq_same_video': 0.0, 'iq_same_video': 0.0}
    res = dict(
        seeds=list(seeds),
        per_seed={'rho_moco': [ev(v) for v in rho],
                  'iivcl': [ev(v) for v in iivcl],
                  'nn_only': [ev(v) for v in nn_only]},
        per_seed_curves={k: [curve(0.2, 0.5)] * len(seeds)
                         for k in ('rho_moco', 'iivcl', 'nn_only')},
        random_init=[ev(12.0) for _ in seeds],
        chance=dict(**{'R@1': 10.0, 'R@5': 41.0, 'linear': 10.0},
                    nn_agree=0.1),
        setup=dict(num_query=80, num_train=240, num_classes=10, queue_len=96,
                   rho=2, epochs=16, iters_per_epoch=15, batch_size=16,
                   clip='8 frames (stride 2) at 64² px'))
    X.aggregate(res)
    return res


@pytest.mark.parametrize('iivcl,rho,head', [
    ((50, 51, 52), (40, 41, 42), 'Yes'),
    ((40.2, 41.1, 41.9), (40, 41, 42), 'Not beyond the seed spread'),
    ((30, 31, 32), (40, 41, 42), 'No:'),
])
def test_reading_adapts_to_the_numbers(iivcl, rho, head):
    res = _planted(iivcl, rho, (35, 36, 37))
    text = '\n'.join(X.reading(res))
    assert head in text
    # the scale table: one row per factor, every number from ``res``
    scale = X.scale_table(res).splitlines()
    assert scale[0] == '| factor | here | paper (Table 6) | consequence |'
    rows = {ln.split(' | ')[0].lstrip('| '): ln for ln in scale[2:]}
    assert set(rows) == {'seed spread', 'held-out videos', 'NN queue',
                         'schedule',
                         "IIVCL's NN positives of the query's class "
                         '(last epoch)'}
    sd = max(np.std(iivcl, ddof=1), np.std(rho, ddof=1))
    assert f'largest std {sd:.1f}: a clear gap needs >= {2 * sd:.1f}' \
        in rows['seed spread']
    # the paper's smallest margin (0.2) is below any planted spread
    assert rows['seed spread'].endswith('not resolvable here |')
    assert '80: one video = 1.25 points' in rows['held-out videos']
    nn = rows["IIVCL's NN positives of the query's class (last epoch)"]
    assert '0.50 (chance 0.10, 5.0x)' in nn and 'not the bottleneck' in nn
    assert '48 videos (~4.8 per class) of 240' in rows['NN queue']
    # the verdict table's IIVCL-vs-rho-MoCo rows carry the planted gap
    d = np.mean(iivcl) - np.mean(rho)
    for m in ('R@1', 'R@5', 'linear top-1'):
        assert f'| IIVCL vs ρ-MoCo | {m} | {d:+.1f} |' in text
    word = {'Yes': 'clearly ahead', 'No:': 'clearly behind',
            'Not beyond the seed spread': 'within the seed spread'}[head]
    row = next(ln for ln in text.splitlines()
               if ln.startswith('| IIVCL vs ρ-MoCo | R@1 |'))
    assert row.rstrip(' |').endswith(word)
    # the orderings: here by R@1, and the paper's by average rank
    first = 'IIVCL' if d > 0 else 'ρ-MoCo'
    assert f'Ordering here by R@1: {first} ' in text
    assert "The paper's order by average rank over its five tasks: IIVCL " \
        in text


def test_scene_vs_motion_sentence_uses_the_oracle():
    """The scene-only side of the sentence is the look oracle when the data
    has looks (colour statistics also carry the object), and the verdict
    follows the gap to the motion descriptor."""
    res = _planted((50, 51, 52), (40, 41, 42), (35, 36, 37))

    def refs(oracle, colour, motion):
        return [dict(key='look_oracle', name=X.REFERENCES[0][1],
                     linear=oracle, **{'R@1': oracle, 'R@5': None}),
                dict(key='mean_colour', name=X.REFERENCES[1][1],
                     linear=colour, **{'R@1': colour, 'R@5': colour}),
                dict(key='motion', name=X.REFERENCES[3][1], linear=motion,
                     **{'R@1': motion, 'R@5': motion})]
    res['references'] = refs(34.0, 40.0, 93.0)
    text = X.scene_vs_motion(res)
    assert 'the look itself (oracle) reaches 34.0' in text
    assert '(+59.0 points)' in text and 'cannot win' in text
    res['references'] = refs(85.0, 40.0, 93.0)
    assert 'nearly as well as the motion' in X.scene_vs_motion(res)
    res['references'] = refs(34.0, 40.0, 93.0)[1:]  # no looks: mean colour
    assert 'mean colour (no network) reaches 40.0' in X.scene_vs_motion(res)


# --------------------------------------------------------------------------
# end to end on a tiny generated set
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('table6')
    data = root / 'data'
    generate_demo_dataset(str(data), num_per_class=3,
                          classes=['move_right', 'move_left', 'move_up'],
                          num_frames=24, size=32, workers=1, verbose=False)
    argv = ['--data-root', str(data), '--epochs', '1', '--seeds', '0',
            '--work-dir', str(root / 'work'), '--doc', str(root / 'doc.md'),
            '--figure', str(root / 'figures' / 'fig.png'),
            '--eval-workers', '0']
    res = T.main(argv)
    return dict(root=root, argv=argv, results=res)


@pytest.mark.timeout(600)
def test_end_to_end_table_figure_and_doc(tiny_run):
    root, res = tiny_run['root'], tiny_run['results']
    assert list(res['per_seed']) == ['rho_moco', 'iivcl', 'nn_only']
    for k, rs in res['per_seed'].items():
        assert len(rs) == 1
        for m in ('R@1', 'R@5', 'linear'):
            assert 0.0 <= rs[0][m] <= 100.0
    # 6 train / 3 query videos, 3 balanced classes
    assert res['chance']['linear'] == pytest.approx(100 / 3)
    assert res['chance']['R@5'] == pytest.approx(100.0)  # 5 of 6 gallery
    assert res['setup']['queue_len'] // res['setup']['rho'] < 6 / 2
    # NN statistics were read from every run's scalars: the NN settings
    # have NN-queue curves, rho-MoCo only the intra-queue probe
    cur = res['per_seed_curves']
    assert cur['iivcl'][0]['nnq_label_agree'] and \
        cur['nn_only'][0]['nnq_label_agree']
    assert not cur['rho_moco'][0]['nnq_label_agree']
    assert cur['rho_moco'][0]['iq_label_agree']
    for k in ('iivcl', 'nn_only'):
        assert cur[k][0]['nnq_same_video'] == 0.0  # exclusion is on
    # the generated set's scenes: scene and class+scene agreement per epoch
    assert cur['iivcl'][0]['nnq_looks_agree'] and \
        cur['iivcl'][0]['nnq_label_looks_agree']
    assert cur['rho_moco'][0]['iq_looks_agree']
    assert 0 < res['chance']['label_looks_agree'] <= \
        res['chance']['looks_agree'] <= 1
    assert osp.getsize(root / 'figures' / 'fig.png') > 5000

    doc = (root / 'doc.md').read_text(encoding='utf-8')
    for section in ('## Command', '## Setup', '## Results',
                    '## Reading (generated from the numbers above)',
                    '## Machine', "## Context: the paper's Table 6"):
        assert section in doc
    assert 'python tools/reproduce_table6.py ' + ' '.join(
        tiny_run['argv'][:2]) in doc
    assert '](figures/fig.png)' in doc
    assert '| setting | neighbour | shares the class, epoch 1 → last' in doc
    assert not re.search(r'\bnan\b', doc, flags=re.I)
    # the results table (also printed and saved as results.md) is the one
    # in the document: header, 3 settings, random init and chance rows
    md = (root / 'work' / 'results.md').read_text(encoding='utf-8').strip()
    assert md in doc
    lines = md.splitlines()
    assert lines[0].startswith('| setting | λ_intra | λ_NN | R@1 (%) |')
    assert [ln.split('|')[1].strip() for ln in lines[2:]] == [
        'ρ-MoCo', 'IIVCL', 'NN only (video NNCLR)',
        'random init (no pretraining)',
        'scene only: the look itself (oracle) ‡',
        'mean colour (no network) §',
        'colour layout (no network) §',
        'motion only: optical flow (no network)', 'chance']
    # the reference rows are plain computations on the videos
    refs = {r['key']: r for r in res['references']}
    assert all(0 <= r['linear'] <= 100 and 0 <= r['R@1'] <= 100
               for r in refs.values())
    oracle = next(ln for ln in lines if 'the look itself' in ln)
    assert refs['look_oracle']['R@5'] is None and \
        oracle.split('|')[5].strip() == '–'
    assert all(ln.count('|') == lines[0].count('|') for ln in lines)
    r1 = res['stats']['iivcl']['R@1'][0]
    assert re.search(rf'\| IIVCL \| 1\.0 \| 1\.0 \| {r1:.1f} \|', md)
    saved = json.loads((root / 'work' / 'results.json').read_text())
    assert saved['per_seed']['iivcl'][0]['R@1'] == pytest.approx(r1)


@pytest.mark.timeout(300)
def test_second_call_reuses_runs_and_reproduces(tiny_run):
    root = tiny_run['root']
    argv = list(tiny_run['argv'])
    argv[argv.index('--doc') + 1] = str(root / 'doc2.md')
    res = T.main(argv)
    assert res['timing']['trained_runs'] == 0
    assert res['timing']['reused_runs'] == 3
    for k, rs in res['per_seed'].items():
        for m in ('R@1', 'R@5', 'linear'):
            assert rs[0][m] == tiny_run['results']['per_seed'][k][0][m]
    assert '3 finished runs were reused' in (root / 'doc2.md').read_text()
    # a finished run is never silently replaced by a different config
    with pytest.raises(SystemExit, match='--force'):
        T.main(argv + ['--batch-size', '1'])


def test_committed_page_is_written_only_with_doc(tmp_path):
    # without --doc the page and its figure go into the work dir
    a = T.parse_args(['--work-dir', str(tmp_path)])
    assert a.doc == osp.join(str(tmp_path), 'reproduction.md')
    assert a.figure == osp.join(str(tmp_path), 'figures',
                                'table6_nn_agreement.png')
    assert not a.doc.startswith(osp.join(REPO, 'docs'))
    # --doc alone: the committed page, the figure beside it in docs/figures
    a = T.parse_args(['--doc'])
    assert a.doc == osp.join(REPO, 'docs', 'reproduction.md')
    assert a.figure == osp.join(REPO, 'docs', 'figures',
                                'table6_nn_agreement.png')
    # an explicit path and figure are kept
    a = T.parse_args(['--doc', str(tmp_path / 'x.md'),
                      '--figure', str(tmp_path / 'f.png')])
    assert (a.doc, a.figure) == (str(tmp_path / 'x.md'),
                                 str(tmp_path / 'f.png'))


def test_each_variant_keeps_its_own_section(tmp_path):
    """Two data variants on one page: writing one replaces its section and
    keeps the other's, in look_bias order, with an index of both."""
    from mmiivcl.experiments.table6 import _merge_variant
    page = tmp_path / 'p.md'
    one = _merge_variant(str(page), dict(variant=dict(look_bias=0.5)),
                         '# T\n\n## Results\n\nbias run 1\n')
    page.write_text(one)
    two = _merge_variant(str(page), dict(variant=dict(look_bias=0.0)),
                         '# T\n\n## Results\n\nuniform run\n')
    page.write_text(two)
    three = _merge_variant(str(page), dict(variant=dict(look_bias=0.5)),
                           '# T\n\n## Results\n\nbias run 2\n')
    assert 'bias run 1' not in three
    assert three.index('uniform run') < three.index('bias run 2')
    assert three.count('### Results') == 2
    assert '(#scene-action-correlation-a-video-takes-its-classs-own-look-' \
        'with-probability-05---look-bias-05)' in three
