"""Fixtures for the AVA tests: a tiny AVA data root built in a temp dir.

The root follows the layout of configs/downstream/ava/r3d50_8x8_ava_tiny_cpu.py
(``annotations/`` + ``rawframes/<video_id>/img_XXXXX.jpg``) from
``../shared/data/ava_tiny``: the annotation files are symlinked, and each
video's frame folder holds ``n_frames`` symlinks cycling through the fixture's
10 real frames. Nothing is written into the repository.
"""
import csv
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE_CFG = osp.join(REPO, 'configs', 'downstream', 'ava',
                     'r3d50_8x8_ava_tiny_cpu.py')
MAIN_CFG = osp.join(REPO, 'configs', 'downstream', 'ava', 'r3d50_8x8_ava22.py')
ANN_FILES = ('ava_sample.csv', 'ava_excluded_timestamps_sample.csv',
             'ava_proposals_sample.pkl', 'action_list.txt')
TINY_FRAMES = (905 - 900 + 1) * 30  # window of the smoke config, 30 fps


def build_tiny_root(src: str, dst: str, n_frames: int = TINY_FRAMES) -> str:
    """Build the tiny AVA root under ``dst`` from ``src`` (shared ava_tiny)."""
    ann = osp.join(dst, 'annotations')
    os.makedirs(ann)
    for f in ANN_FILES:
        os.symlink(osp.join(src, f), osp.join(ann, f))
    imgs = sorted(os.listdir(osp.join(src, 'imgs')))
    with open(osp.join(src, 'ava_sample.csv')) as f:
        videos = sorted({row[0] for row in csv.reader(f) if row})
    for vid in videos:
        d = osp.join(dst, 'rawframes', vid)
        os.makedirs(d)
        for i in range(1, n_frames + 1):
            os.symlink(osp.join(src, 'imgs', imgs[(i - 1) % len(imgs)]),
                       osp.join(d, f'img_{i:05d}.jpg'))
    return dst


@pytest.fixture
def ava_tiny_src(shared_data) -> str:
    return osp.join(shared_data, 'ava_tiny')


@pytest.fixture
def ava_tiny_root(ava_tiny_src, tmp_path) -> str:
    """A fresh tiny AVA root (tests may modify it)."""
    return build_tiny_root(ava_tiny_src, str(tmp_path / 'ava_tiny'))


@pytest.fixture(scope='session')
def check_ava_tool(tool_module):
    """tools/check_ava.py as a module (its ``main(argv) -> exit status``)."""
    return tool_module('check_ava')
