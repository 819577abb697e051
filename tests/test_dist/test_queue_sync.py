"""Two real processes (torchrun, gloo, CPU): queues identical on both ranks
after every step, and the queue holds keys from both ranks in rank order."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

HERE = osp.dirname(osp.abspath(__file__))


def _torchrun(script: str, out: str, port: int, repo_root: str):
    """Run ``script out`` in 2 gloo processes (torchrun) on CPU."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           f'--master_port={port}', osp.join(HERE, script), out]
    return subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=280)


@pytest.mark.timeout(300)
def test_two_rank_queues_identical_every_step(tmp_path, repo_root):
    out = str(tmp_path / 'rec')
    proc = _torchrun('_iivcl_queue_sync.py', out, 29611, repo_root)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r0 = json.load(open(out + '.rank0.json'))
    r1 = json.load(open(out + '.rank1.json'))
    assert r0['world'] == r1['world'] == 2
    for step, (s0, s1) in enumerate(zip(r0['record'], r1['record'])):
        for b in s0:
            assert s0[b]['ptr'] == s1[b]['ptr'], (step, b)
            assert s0[b]['indices'] == s1[b]['indices'], (step, b)
            assert s0[b]['feats'] == s1[b]['feats'], (step, b)
            # 12 keys per step: rank 0's 6 (clip-major) then rank 1's 6
            assert s0[b]['ptr'] == (12 * (step + 1)) % 20
    # after step 0: rows 0-11 = rank0 (clip0 vids, clip1 vids), rank1 (...)
    idx = r0['record'][0]['intra']['indices'][:12]
    assert idx == [0, 1, 2, 0, 1, 2, 100, 101, 102, 100, 101, 102]
    final = set(r0['record'][-1]['intra']['indices'])
    assert any(v < 100 for v in final) and any(v >= 100 for v in final)


@pytest.mark.timeout(300)
def test_gather_keys_false_keeps_per_rank_queues(tmp_path, repo_root):
    out = str(tmp_path / 'local')
    proc = _torchrun('_iivcl_local_queues.py', out, 29613, repo_root)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = [json.load(open(f'{out}.rank{k}.json')) for k in (0, 1)]
    for rank, rec in enumerate(r):
        # each step writes only this rank's 3 videos x 2 clips (6 rows)
        for step, state in enumerate(rec['record']):
            for b, q in state.items():
                assert q['ptr'] == 6 * (step + 1), (rank, step, b)
                filled = [v for v in q['indices'] if v >= 0]
                assert len(filled) == 6 * (step + 1)
                assert all(v // 100 == rank for v in filled), (rank, b)
        # the epoch-end buffer sync leaves the per-rank queues alone ...
        assert rec['after_sync'] == rec['record'][-1]
        assert any(n.startswith('queue_') for n in rec['local'])
    # ... while the BN statistics are averaged (equal on both ranks)
    assert r[0]['bn_before'] != r[1]['bn_before']
    assert r[0]['bn_after'] == pytest.approx(r[1]['bn_after'])
    assert r[0]['after_sync']['intra']['feats'] != \
        r[1]['after_sync']['intra']['feats']
