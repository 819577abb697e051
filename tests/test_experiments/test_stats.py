"""mmiivcl.experiments.stats: the one mean / std definition of every table
(sample std, ddof=1), against hand counts."""
import math

import pytest

from mmiivcl.experiments import REPO_ROOT, fmt_mean_std, mean_std
from mmiivcl.experiments.demo import DEMO_CONFIG, default_work_dir


def test_mean_std_is_the_sample_std():
    # 17.5, 17.5, 18.8: mean 17.933..., deviations -0.433, -0.433, 0.867;
    # squares sum 0.18778 + 0.18778 + 0.75111 = 1.12667; / (3 - 1) -> 0.5633
    m, s = mean_std([17.5, 17.5, 18.8])
    assert m == pytest.approx(53.8 / 3)
    assert s == pytest.approx(math.sqrt(1.126666667 / 2), rel=1e-6)
    # two values: |a - b| / sqrt(2)
    assert mean_std([10.0, 12.0])[1] == pytest.approx(2 / math.sqrt(2))


def test_mean_std_edge_cases():
    m, s = mean_std([5.0])
    assert m == 5.0 and math.isnan(s)  # one seed: no spread
    m, s = mean_std([])
    assert math.isnan(m) and math.isnan(s)
    assert mean_std([1.0, None, 3.0]) == pytest.approx((2.0, math.sqrt(2)))


def test_fmt_mean_std():
    assert fmt_mean_std(17.93, 0.75) == '17.9 ± 0.8'
    assert fmt_mean_std(5.0, float('nan')) == '5.0'
    assert fmt_mean_std(float('nan'), 1.0) == 'n/a'
    assert fmt_mean_std(1.234, 0.5, digits=2) == '1.23 ± 0.50'


def test_retrieval_tables_use_the_same_definition():
    from mmiivcl.retrieval import recall_mean_std
    runs = [{'R@1': 10.0, 'R@5': 40.0}, {'R@1': 12.5, 'R@5': 45.0},
            {'R@1': 10.0, 'R@5': 41.0}]
    got = recall_mean_std(runs, (1, 5))
    assert got['R@1'] == pytest.approx(mean_std([10.0, 12.5, 10.0]))
    assert got['R@5'] == pytest.approx(mean_std([40.0, 45.0, 41.0]))


def test_demo_work_dirs():
    assert default_work_dir(DEMO_CONFIG).endswith('work_dirs/demo')
    other = f'{REPO_ROOT}/configs/demo/iivcl_r3d18_demo_1scene.py'
    assert default_work_dir(other).endswith(
        'work_dirs/demo_iivcl_r3d18_demo_1scene')
