"""FewShotSampler: class-balanced subset, determinism, ranks, saving."""
import math
import os.path as osp
import random

import pytest
from mmengine.logging import MMLogger

from mmaction.registry import DATA_SAMPLERS
from mmiivcl.datasets.samplers import FewShotSampler


class ListDataset:
    """The part of mmengine's BaseDataset the sampler uses."""

    def __init__(self, items):
        self.items = list(items)

    def __len__(self):
        return len(self.items)

    def get_data_info(self, idx):
        name, label = self.items[idx]
        return dict(filename=name, label=label)


def ucf_like(num_classes=101, single_class=7):
    """UCF101-style names; class sizes 40..139 (class `single_class` has
    one video); 4+ clips per group."""
    items = []
    for c in range(num_classes):
        n = 1 if c == single_class else 40 + (c * 37) % 100
        for i in range(n):
            name = f'v_C{c:03d}_g{i // 4 + 1:02d}_c{i % 4 + 1:02d}.avi'
            items.append((f'C{c:03d}/{name}', c))
    return items


def expected_count(ratio, n):
    return max(1, int(math.floor(ratio * n + 0.5)))  # round half up


@pytest.fixture(scope='module')
def items():
    return ucf_like()


@pytest.mark.parametrize('ratio', [0.01, 0.2])
def test_subset_size_and_per_class_counts(items, ratio, tmp_path):
    ds = ListDataset(items)
    s = FewShotSampler(ds, ratio=ratio, subset_seed=0, seed=0,
                       save_dir=str(tmp_path))
    sizes = {}
    for _, c in items:
        sizes[c] = sizes.get(c, 0) + 1
    want = {c: expected_count(ratio, n) for c, n in sizes.items()}
    assert s.class_counts == want
    assert len(s.subset) == sum(want.values())
    assert len(set(s.subset)) == len(s.subset)
    # the picked indices really carry those labels
    got = {}
    for i in s.subset:
        got[items[i][1]] = got.get(items[i][1], 0) + 1
    assert got == want
    assert s.class_counts[7] == 1  # the one-video class keeps its video
    # one epoch on one process visits exactly the subset
    assert sorted(iter(s)) == s.subset


def test_deterministic_and_independent_of_list_order(items):
    a = FewShotSampler(ListDataset(items), ratio=0.05, subset_seed=3, seed=0)
    b = FewShotSampler(ListDataset(items), ratio=0.05, subset_seed=3, seed=9)
    assert a.subset == b.subset  # the training seed does not matter
    shuffled = list(items)
    random.Random(0).shuffle(shuffled)
    c = FewShotSampler(ListDataset(shuffled), ratio=0.05, subset_seed=3,
                       seed=0)
    assert sorted(c.subset_files) == sorted(a.subset_files)
    d = FewShotSampler(ListDataset(items), ratio=0.05, subset_seed=4, seed=0)
    assert d.subset != a.subset


def test_two_ranks_same_subset_disjoint_shares(items):
    ds = ListDataset(items)
    ranks = [FewShotSampler(ds, ratio=0.2, subset_seed=0, seed=5, rank=r,
                            world_size=2, round_up=False) for r in (0, 1)]
    assert ranks[0].subset == ranks[1].subset
    for epoch in (0, 1):
        shares = []
        for s in ranks:
            s.set_epoch(epoch)
            shares.append(list(s))
        assert not set(shares[0]) & set(shares[1])
        assert sorted(shares[0] + shares[1]) == ranks[0].subset
        assert len(shares[0]) == len(ranks[0])
    # a new epoch reorders, the set stays
    ranks[0].set_epoch(0)
    e0 = list(ranks[0])
    ranks[0].set_epoch(1)
    assert list(ranks[0]) != e0


def test_round_up_pads_like_default_sampler(items):
    ds = ListDataset(items)
    ranks = [FewShotSampler(ds, ratio=0.01, seed=1, rank=r, world_size=4)
             for r in range(4)]
    n = len(ranks[0].subset)
    assert all(len(list(s)) == math.ceil(n / 4) for s in ranks)
    union = [i for s in ranks for i in s]
    assert set(union) == set(ranks[0].subset)


def test_group_aware_spreads_over_groups():
    # one class, 5 groups x 4 clips; 25 % -> 5 videos from 5 groups
    items = [(f'v_X_g{g:02d}_c{c:02d}.avi', 0) for g in range(1, 6)
             for c in range(1, 5)]
    s = FewShotSampler(ListDataset(items), ratio=0.25, seed=0)
    groups = {osp.basename(f).split('_')[2] for f in s.subset_files}
    assert len(s.subset) == 5 and len(groups) == 5


def test_subset_list_saved_to_save_dir_and_runner_work_dir(items, tmp_path):
    s = FewShotSampler(ListDataset(items), ratio=0.01, seed=0,
                       save_dir=str(tmp_path / 'out'))
    lines = open(s.subset_file).read().splitlines()
    assert lines == [f'{f} {c}' for f, c in zip(s.subset_files,
                                                 s.subset_labels)]
    # default: the running Runner's work dir, found via its logger
    work = tmp_path / 'work'
    (work / '20240101_000000').mkdir(parents=True)
    MMLogger.get_instance(
        'fewshot_test', log_file=str(work / '20240101_000000' / 'x.log'))
    s2 = FewShotSampler(ListDataset(items), ratio=0.01, seed=0)
    assert osp.dirname(s2.subset_file) == str(work)
    assert osp.isfile(s2.subset_file)


def test_registered_and_bad_ratio(items):
    s = DATA_SAMPLERS.build(dict(type='FewShotSampler', ratio=0.2),
                            default_args=dict(dataset=ListDataset(items),
                                              seed=0))
    assert isinstance(s, FewShotSampler)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match='ratio'):
            FewShotSampler(ListDataset(items), ratio=bad, seed=0)
