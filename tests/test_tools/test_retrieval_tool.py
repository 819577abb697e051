"""Zero-shot retrieval tool end to end on real clips of ../shared/data: the
checkpoint loads through the backbone loader (report), and R@k equals a
hand computation on features extracted independently."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config

from mmiivcl.retrieval import evaluate_retrieval, lists_from_config

GALLERY = [('kinetics/tai_chi.mp4', 0), ('kinetics/clean_and_jerk.mp4', 1),
           ('kinetics/skateboarding.mp4', 2),
           ('kinetics/arm_wrestling_demo.mp4', 3),
           ('kinetics/abseiling.mp4', 1), ('ucf101/v_Basketball_g01_c01.avi',
                                           2)]
QUERY = [('kinetics/tai_chi_Kop0sDqOn-c.mp4', 0),
         ('kinetics/flipping_pancake.mkv', 1),
         ('ucf101/v_ApplyEyeMakeup_test.avi', 2)]


def _write(path, rows):
    with open(path, 'w') as f:
        f.writelines(f'{p} {lab}\n' for p, lab in rows)
    return str(path)


@pytest.fixture
def setup(shared_data, tmp_path, tiny_extractor_cfg, make_pipeline):
    pipeline = make_pipeline(clip_len=4, num_clips=2, size=32)
    cfg = dict(model=tiny_extractor_cfg, test_pipeline=pipeline)
    torch.manual_seed(1)
    trained = MODELS.build(tiny_extractor_cfg)
    trained.init_weights()
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=trained.state_dict(), meta=dict(epoch=3)),
               ckpt)
    return dict(cfg=cfg, ckpt=ckpt, model=trained.eval(), pipeline=pipeline,
                prefix=osp.join(shared_data, 'videos'),
                gallery=_write(tmp_path / 'gallery.txt', GALLERY),
                query=_write(tmp_path / 'query.txt', QUERY))


def _features(model, lst, prefix, pipeline):
    ds = DATASETS.build(dict(type='UnlabeledVideoDataset', ann_file=lst,
                             data_prefix=dict(video=prefix),
                             pipeline=pipeline, test_mode=True))
    out = []
    with torch.no_grad():
        for i in range(len(ds)):
            d = ds[i]
            x = model.data_preprocessor(dict(inputs=[d['inputs']],
                                             data_samples=[d['data_samples']]),
                                        False)['inputs']
            # (1, M, C, T, H, W): pool every clip, average the clips
            f = model.pool(model.backbone(x[0])).mean(0)
            out.append(f.numpy())
    return np.stack(out)


def _hand_recall(qf, ql, gf, gl, ks):
    qf = qf / np.linalg.norm(qf, axis=1, keepdims=True)
    gf = gf / np.linalg.norm(gf, axis=1, keepdims=True)
    out = {}
    for k in ks:
        hits = 0
        for i in range(len(qf)):
            order = sorted(range(len(gf)), key=lambda j: (-qf[i] @ gf[j], j))
            hits += any(gl[j] == ql[i] for j in order[:k])
        out[f'R@{k}'] = 100.0 * hits / len(qf)
    return out


def test_evaluate_retrieval_end_to_end(setup):
    s = setup
    res = evaluate_retrieval(s['cfg'], s['ckpt'], s['gallery'], s['query'],
                             s['prefix'], topk=(1, 2, 5), batch_size=2,
                             print_table=False)
    rep = res['load_report']
    assert rep['num_loaded'] == rep['num_total'] and not rep['missing']
    assert res['num_queries'] == 3 and res['num_gallery'] == 6
    assert res['feat_dim'] == 64
    qf = _features(s['model'], s['query'], s['prefix'], s['pipeline'])
    gf = _features(s['model'], s['gallery'], s['prefix'], s['pipeline'])
    exp = _hand_recall(qf, [lab for _, lab in QUERY], gf,
                       [lab for _, lab in GALLERY], (1, 2, 5))
    for k in ('R@1', 'R@2', 'R@5'):
        assert res[k] == pytest.approx(exp[k])
    # chance: 1 / 6 same-label gallery items for class 0, 2 / 6 otherwise
    assert res['chance']['R@1'] == pytest.approx(100 * (1 / 6 + 2 / 6 +
                                                        2 / 6) / 3)
    assert '| ckpt.pth |' in res['table']


def test_retrieval_cli_random_seeds_and_config_lists(setup, tmp_path,
                                                     tool_module):
    tool = tool_module('retrieval')
    s = setup
    sub = dict(type='UnlabeledVideoDataset', pipeline=s['pipeline'],
               data_prefix=dict(video=s['prefix']), test_mode=True)
    cfg = Config(dict(
        model=s['cfg']['model'], test_pipeline=s['pipeline'],
        test_dataloader=dict(dataset=dict(
            type='TaggedConcatDataset',
            datasets=dict(train=dict(sub, ann_file=s['gallery']),
                          test=dict(sub, ann_file=s['query']))))))
    cfg_file = str(tmp_path / 'retrieval_cfg.py')
    cfg.dump(cfg_file)
    assert lists_from_config(cfg_file) == (s['gallery'], s['query'],
                                           s['prefix'])
    out = str(tmp_path / 'res.json')
    runs = tool.main([cfg_file, '--seeds', '0', '1', '--num-workers', '0',
                      '--topk', '1', '5', '--out', out])
    assert len(runs) == 2 and all(r['load_report'] is None for r in runs)
    with open(out) as f:
        saved = json.load(f)
    assert saved['seeds'] == [0, 1] and len(saved['runs']) == 2
    assert saved['runs'][0]['R@5'] == runs[0]['R@5']


def test_decoded_cache_decodes_once_and_changes_nothing(setup, monkeypatch):
    """run_demo's shared decoding: the same numbers as decoding per call,
    with each list decoded once for several models."""
    from mmiivcl.analysis import features as feat_mod
    from mmiivcl.retrieval import pipeline as ret_mod
    s = setup
    kw = dict(gallery_list=s['gallery'], query_list=s['query'],
              data_prefix=s['prefix'], topk=(1, 2, 5), batch_size=2,
              print_table=False)
    plain = [evaluate_retrieval(s['cfg'], ck, seed=3, **kw)
             for ck in (s['ckpt'], None)]
    builds = []
    real_build = ret_mod.build_list_dataset
    monkeypatch.setattr(ret_mod, 'build_list_dataset',
                        lambda *a, **k: builds.append(a[0]) or
                        real_build(*a, **k))
    cache = {}
    cached = [evaluate_retrieval(s['cfg'], ck, seed=3, decoded_cache=cache,
                                 **kw) for ck in (s['ckpt'], None)]
    assert sorted(builds) == sorted([s['gallery'], s['query']])  # once each
    assert len(cache) == 2
    for a, b in zip(plain, cached):
        for k in ('R@1', 'R@2', 'R@5', 'chance', 'table', 'num_queries'):
            assert a[k] == b[k], k
    # the features themselves, bit for bit, twice from the same cache
    ds = real_build(s['gallery'], s['prefix'], s['pipeline'])
    ref = feat_mod.extract_features(s['model'], ds, 2)
    dec = feat_mod.DecodedSamples(ds)
    for _ in range(2):
        got = feat_mod.extract_features(s['model'], dec, 2)
        assert np.array_equal(got['feats'], ref['feats'])
        assert np.array_equal(got['labels'], ref['labels'])
        assert got['filenames'] == ref['filenames']
