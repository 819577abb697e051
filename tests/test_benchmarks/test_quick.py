"""Every script in benchmarks/ runs in its ``--quick`` mode (seconds, no
optional dependency), so a benchmark that breaks fails the test command.

The scripts are discovered by glob: a new benchmark without ``--quick``
fails here (argparse exits 2 on the unknown flag).
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPTS = sorted(glob.glob(osp.join(REPO, 'benchmarks', '*.py')))
# scripts whose --quick reads ../shared/data (skip / fail like other tests)
NEEDS_SHARED = {'bench_pipeline.py', 'bench_prepare.py'}


def test_the_benchmarks_are_found():
    names = {osp.basename(s) for s in SCRIPTS}
    assert {'bench_step.py', 'bench_pipeline.py', 'bench_gpu.py'} <= names


@pytest.mark.timeout(600)
@pytest.mark.parametrize('script', SCRIPTS, ids=osp.basename)
def test_quick_mode_runs(script, request):
    name = osp.basename(script)
    if name in NEEDS_SHARED:
        request.getfixturevalue('shared_data')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, script, '--quick'], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=540)
    assert proc.returncode == 0, (
        f'{name} --quick exited {proc.returncode}:\n'
        + proc.stdout[-2000:] + proc.stderr[-3000:])
    if name == 'bench_pipeline.py':  # the optional variant says why it skips
        assert 'kornia variants skipped: --quick' in proc.stdout
    if name in ('bench_step.py', 'bench_gpu.py', 'bench_pipeline.py'):
        assert 'RATIOS' in proc.stdout  # the side-by-side line is printed
