"""docs/troubleshooting.md, section 5 (and the cross-rank parts of sections 1
and 6): two real processes
(torchrun --standalone, gloo, CPU) run ``_dist_checks.py``; this test compares
what the ranks recorded with independent expectations.

* queues identical on both ranks after every step, and the rows written in a
  step are exactly rank 0's keys then rank 1's keys (as each rank passed them
  to ``enqueue``), at the pointer, wrapping;
* shuffle-BN: the ranks' slices form a permutation of the global batch (not
  the identity), the unshuffle index is the same on both ranks and restores
  every element exactly;
* SyncBN: builds (online and momentum encoders), ``convert_sync_batchnorm``
  converts every BN and keeps the checkpoint keys, shuffle-BN + SyncBN and
  SyncBN on a CPU process group are refused naming the key (running SyncBN is
  a GPU check: skipped without CUDA);
* KNNMetric / VideoRetrievalMetric on 2 ranks with DefaultSampler padding
  equal the single-process values, with or without the padding kept;
* SkipStatsHook counts bad videos found on different ranks once each and
  stops both ranks above the fraction; NonFiniteLossHook stops both ranks
  when one sees a NaN.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))


@pytest.fixture(scope='module')
def records(tmp_path_factory, repo_root, good_videos, bad_videos, rel):
    tmp = tmp_path_factory.mktemp('dist')
    bad = [bad_videos[k][0] for k in ('empty', 'gif', 'missing')]
    files = [good_videos[0], bad[0], good_videos[1], bad[1], bad[2],
             good_videos[2]]
    lst = rel.write_list(str(tmp / 'list.txt'), files)
    params = tmp / 'params.json'
    # rank 0 meets the empty file, rank 1 the GIF and the missing file
    params.write_text(json.dumps(dict(
        list=lst, pipeline=rel.skip_pipeline,
        rank_indices=[[0, 1], [3, 4, 5]])))
    out = str(tmp / 'rec')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([repo_root,
                                           os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           '--nproc_per_node=2', osp.join(HERE, '_dist_checks.py'), out,
           str(params)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-4000:]
    r0 = json.load(open(out + '.rank0.json'))
    r1 = json.load(open(out + '.rank1.json'))
    assert (r0['world'], r1['world']) == (2, 2)
    return r0, r1, dict(files=files, bad=bad)


@pytest.mark.timeout(300)
def test_queues_identical_and_equal_to_rank_ordered_gathered_keys(records):
    r0, r1, _ = records
    q0, q1 = r0['queues'], r1['queues']
    assert q0['steps'] == q1['steps']  # bit-identical after every step
    length = 20
    for name in ('queue_intra', 'queue_nn'):
        calls0 = [c for c in q0['local'] if c['queue'] == name]
        calls1 = [c for c in q1['local'] if c['queue'] == name]
        assert len(calls0) == len(calls1) == 4
        for step, (c0, c1) in enumerate(zip(calls0, calls1)):
            assert c0['ptr'] == c1['ptr']
            keys = c0['keys'] + c1['keys']  # rank order
            vids = c0['vid'] + c1['vid']
            assert len(keys) == 12  # 2 ranks x 3 videos x 2 clips
            state = q0['steps'][step][name]
            rows = [(c0['ptr'] + i) % length for i in range(12)]
            assert [state['feats'][r] for r in rows] == keys
            assert [state['indices'][r] for r in rows] == vids
            assert state['ptr'] == (c0['ptr'] + 12) % length
        # clip-major per rank: clip 0's videos then clip 1's
        assert calls0[0]['vid'] == [0, 1, 2, 0, 1, 2]
        assert calls1[0]['vid'] == [100, 101, 102, 100, 101, 102]


@pytest.mark.timeout(300)
def test_shuffle_bn_permutes_the_global_batch_and_unshuffles(records):
    r0, r1, _ = records
    s0, s1 = r0['shuffle'], r1['shuffle']
    assert s0['idx_unshuffle'] == s1['idx_unshuffle']  # one permutation
    assert sorted(s0['idx_unshuffle']) == list(range(8))
    glob = s0['shuffled'] + s1['shuffled']
    assert glob == s0['all_shuffled'] == s1['all_shuffled']
    assert sorted(glob) == list(range(8))  # a permutation of the batch
    assert glob != list(range(8))
    assert set(s0['shuffled']) != {0, 1, 2, 3}  # keys really cross ranks
    # idx_unshuffle inverts it: glob[idx[j]] == j
    assert [glob[i] for i in s0['idx_unshuffle']] == list(range(8))
    assert s0['restored'] == s0['x'] == [0, 1, 2, 3]
    assert s1['restored'] == s1['x'] == [4, 5, 6, 7]


@pytest.mark.timeout(300)
def test_sync_bn_option_builds_and_converts(records):
    for r in records[:2]:
        s = r['syncbn']
        assert 'model.shuffle_bn=False' in s['shuffle_with_syncbn']
        assert s['sync_online'] == s['sync_momentum'] == s['bn_layers'] > 0
        assert s['converted_sync'] == 2 * s['bn_layers']  # + momentum copy
        assert s['converted_keys_same'] and s['sync_keys_same']
        assert 'norm_cfg' in s['cpu_refused']


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason='GPU check: torch SyncBatchNorm runs on CUDA only')
def test_sync_bn_trains_on_gpu(rel):  # pragma: no cover - needs CUDA
    import copy

    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    bb = copy.deepcopy(rel.tiny_backbone)
    bb['norm_cfg'] = dict(type='SyncBN', requires_grad=True)
    model = MODELS.build(rel.tiny_model(backbone=bb, shuffle_bn=False)).cuda()
    model.init_weights()
    x = torch.rand(4, 2, 3, 4, 32, 32, device='cuda')
    losses = model.loss(x, [ActionDataSample(metainfo=dict(sample_idx=i))
                            for i in range(4)])
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))


@pytest.mark.timeout(300)
def test_metrics_do_not_depend_on_process_count(records):
    from mmiivcl.evaluation import KNNMetric
    from mmiivcl.retrieval import VideoRetrievalMetric
    r0, r1, _ = records
    m0, m1 = r0['metrics'], r1['metrics']
    assert sorted(m0['indices'] + m1['indices']) == [0, 0, 1, 2, 3, 4, 5, 6]
    g = torch.Generator().manual_seed(0)
    labels = [0, 1, 2, 0, 1, 2, 0]
    # class centres plus noise: a metric that is neither 0 nor 100
    feats = 1.2 * torch.eye(8)[labels] + torch.randn(7, 8, generator=g)
    for name, cls, kw in (('knn', KNNMetric, dict(k=3, topk=(1,))),
                          ('ret', VideoRetrievalMetric, dict(topk=(1, 2)))):
        single = cls(**kw)
        single.process(None, [dict(feat=feats[i], gt_label=labels[i],
                                   sample_idx=i) for i in range(7)])
        expected = single.evaluate(7)
        for r in (m0, m1):
            assert r[f'{name}_7'] == expected
            assert r[f'{name}_8'] == expected  # padding kept, then dropped
        # counting the padded copy of sample 0 would change the result
        naive = cls(**kw)
        naive.process(None, [dict(feat=feats[i % 7], gt_label=labels[i % 7],
                                  sample_idx=i) for i in range(8)])
        assert naive.evaluate(8) != expected


@pytest.mark.timeout(300)
def test_skip_count_and_nan_stop_aggregate_over_ranks(records):
    r0, r1, info = records
    s0, s1 = r0['skip'], r1['skip']
    # each rank found some (rank 0 met index 1, rank 1 indices 3 and 4;
    # replacement draws may meet more), the union is counted once
    assert 1 in s0['local_before'] and {3, 4} <= set(s1['local_before'])
    assert set(s0['local_before']) != set(s1['local_before'])
    assert s0['total'] == s1['total'] == s0['logged'] == 3
    assert s0['merged'] == s1['merged'] == [1, 3, 4]
    assert s0['events'] == s1['events'] >= 3
    assert s0['stopped_with'] == s1['stopped_with'] == sorted(info['bad'])
    assert 'on another rank' in r0['nonfinite']
    assert 'on this rank' in r1['nonfinite'] and 'loss=nan' in r1['nonfinite']
