"""Runs side by side (mmiivcl.experiments.runs): exit codes and wall times
in the order given, each output in its own log, the thread count passed
to every run, and the default number of runs at a time."""
import sys

from mmiivcl.experiments.runs import (default_jobs, run_parallel,
                                      threads_per_job)


def test_runs_side_by_side_keep_their_order_logs_and_threads(tmp_path):
    code = ('import os, sys, time; time.sleep(float(sys.argv[1])); '
            'print("Epoch(train) [1][2/2] threads", '
            'os.environ["OMP_NUM_THREADS"]); sys.exit(int(sys.argv[2]))')
    specs = [dict(cmd=[sys.executable, '-c', code, d, rc],
                  log=str(tmp_path / f'{i}.log'), label=f'run {i}', epochs=1)
             for i, (d, rc) in enumerate([('0.6', '0'), ('0', '3'),
                                          ('0.2', '0')])]
    out = run_parallel(specs, jobs=2, threads=1, root=str(tmp_path))
    assert [rc for rc, _ in out] == [0, 3, 0]
    assert out[0][1] >= 0.6 and all(w >= 0 for _, w in out)
    for i in range(3):
        assert 'threads 1' in (tmp_path / f'{i}.log').read_text()


def test_default_jobs_and_threads():
    assert default_jobs(3, cpus=2) == 3  # small runs: 3 at once on 2 cores
    assert default_jobs(9, cpus=2) == 3
    assert default_jobs(2, cpus=8) == 2
    assert default_jobs(9, cpus=8) == 8
    assert threads_per_job(3, cpus=2) == 1
    assert threads_per_job(2, cpus=8) == 4
