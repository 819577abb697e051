"""tools/check_ava.py and mmiivcl.ava.checks on a tiny AVA root.

Each broken root / config is a copy of a good one with exactly one defect;
the good one must pass, the broken ones must fail with a message naming the
problem (and the file it is in).
"""
import os
import os.path as osp
import pickle
import re
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmiivcl.ava.checks import (AVAConfigError, ava_config_problems,
                                         check_ava_config, read_label_ids)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE_CFG = osp.join(REPO, 'configs', 'downstream', 'ava',
                     'r3d50_8x8_ava_tiny_cpu.py')
MAIN_CFG = osp.join(REPO, 'configs', 'downstream', 'ava', 'r3d50_8x8_ava22.py')
TINY_FRAMES = (905 - 900 + 1) * 30  # the smoke config's window at 30 fps


def _run(tool, root, capsys, monkeypatch, *extra):
    monkeypatch.setenv('AVA_TINY_ROOT', root)
    status = tool.main(['--config', SMOKE_CFG, *extra])
    out = capsys.readouterr().out
    return status, out


def test_good_tiny_root_passes(check_ava_tool, ava_tiny_root, capsys,
                               monkeypatch):
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch)
    assert status == 0, out
    assert 'OK: 0 error(s)' in out
    # counts: 2 videos, 3 keyframes, 2 of them excluded
    assert 'videos=2, keyframes=3, rows=8, excluded=2, used_keyframes=1' in out
    # label 74 is annotated but not in the tiny label map: a warning only
    assert '[WARN]' in out and '[74]' in out


def test_wrong_class_count_is_reported(check_ava_tool, ava_tiny_root, capsys,
                                       monkeypatch):
    # mmaction2's default 81 classes instead of 4 + background
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--cfg-options',
                       'model.roi_head.bbox_head.num_classes=81')
    assert status == 1
    assert 'model.roi_head.bbox_head.num_classes: head num_classes=81 but ' \
        f'the label file {ava_tiny_root}/annotations/action_list.txt has 4 ' \
        'classes (+1 background = 5)' in out
    assert 'train_dataloader.dataset.num_classes: num_classes=5 but the ' \
        'head has num_classes=81' in out
    assert 'val_evaluator (AVAMetric).num_classes: num_classes=5 but the ' \
        'head has num_classes=81' in out
    assert 'fix:' in out


def test_label_map_class_count_mismatch_is_reported(
        check_ava_tool, ava_tiny_root, shared_data, capsys, monkeypatch):
    # the 60-class AVA label map with the tiny config's 4 custom classes
    lm = osp.join(shared_data, 'label_maps', 'ava_label_map.txt')
    status, out = _run(
        check_ava_tool, ava_tiny_root, capsys, monkeypatch, '--cfg-options',
        f'train_dataloader.dataset.label_file={lm}',
        f'val_dataloader.dataset.label_file={lm}',
        f'test_dataloader.dataset.label_file={lm}',
        f'val_evaluator.label_file={lm}', f'test_evaluator.label_file={lm}')
    assert status == 1
    assert f'custom_classes (4 ids) differ from the label file {lm} ' \
        '(60 classes)' in out
    assert 'num_classes=61' in out  # the fix names the right count


def test_missing_frame_folder_is_reported(check_ava_tool, ava_tiny_root,
                                          capsys, monkeypatch):
    gone = osp.join(ava_tiny_root, 'rawframes', '_-Z6wFjXtGQ')
    shutil.rmtree(gone)
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch)
    assert status == 1
    assert '1 annotated video(s) have no frame folder' in out
    assert gone in out
    assert 'ffmpeg' in out  # the fix says how to extract frames


def test_wrong_frame_count_is_reported(check_ava_tool, ava_tiny_root, capsys,
                                       monkeypatch):
    d = osp.join(ava_tiny_root, 'rawframes', '0f39OWEqJ24')

    def set_count(n):
        for i in range(1, TINY_FRAMES + 2):
            p = osp.join(d, f'img_{i:05d}.jpg')
            if i > n and osp.lexists(p):
                os.remove(p)
            elif i <= n and not osp.lexists(p):
                os.symlink(osp.join(d, 'img_00001.jpg'), p)

    # too few: the sampler reads up to frame (905 - 900) * 30 = 150
    set_count(140)
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch)
    assert status == 1
    assert f'{d}: 140 consecutive frames from img_00001.jpg, but the ' \
        'sampler reads up to frame img_00150.jpg' in out
    assert f'{TINY_FRAMES} expected at 30 fps' in out
    # one too many: complete for the sampler, but not a 30 fps extraction
    set_count(TINY_FRAMES + 1)
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch)
    assert status == 1
    assert f'{d}: {TINY_FRAMES + 1} frames, expected {TINY_FRAMES}' in out
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--frame-tolerance', '1')
    assert status == 0, out


def test_frame_names_not_matching_template(check_ava_tool, ava_tiny_root,
                                           capsys, monkeypatch):
    d = osp.join(ava_tiny_root, 'rawframes', '0f39OWEqJ24')
    for name in os.listdir(d):  # SlowFast-style names
        i = int(name[4:9])
        os.rename(osp.join(d, name), osp.join(d, f'0f39OWEqJ24_{i:06d}.jpg'))
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch)
    assert status == 1
    assert "no frame named 'img_00001.jpg'" in out
    assert '0f39OWEqJ24_000001.jpg' in out


def test_proposals_without_val_entries_are_reported(
        check_ava_tool, ava_tiny_root, shared_data, capsys, monkeypatch):
    # real proposals, but of other videos (mmaction2's ava_eval fixture)
    other = osp.join(shared_data, 'ava_eval', 'proposal.pkl')
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--cfg-options',
                       f'val_dataloader.dataset.proposal_file={other}',
                       f'test_dataloader.dataset.proposal_file={other}')
    assert status == 1
    assert f'{other}: no entries for any of the 1 val keyframes' in out
    assert 'use the proposal file of the val split' in out


def test_val_proposals_missing_a_keyframe_is_an_error(
        check_ava_tool, ava_tiny_root, capsys, monkeypatch):
    pkl = osp.join(ava_tiny_root, 'annotations', 'ava_proposals_sample.pkl')
    with open(pkl, 'rb') as f:
        props = pickle.load(f)
    del props['0f39OWEqJ24,0903']
    os.remove(pkl)  # a symlink into the shared data: replace, not overwrite
    with open(pkl, 'wb') as f:
        pickle.dump(props, f)
    no_excl = ['val_dataloader.dataset.exclude_file=None',
               'test_dataloader.dataset.exclude_file=None',
               'val_evaluator.exclude_file=None',
               'test_evaluator.exclude_file=None']
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--cfg-options', *no_excl)
    assert status == 1
    # mmaction2 would score one whole-frame box there: an error for val ...
    assert "[FAIL] " + pkl + ": 1 of 3 val keyframes have no proposals, " \
        "e.g. ['0f39OWEqJ24,0903']" in out
    # ... a warning for train (GT boxes are added as proposals there)
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--splits', 'train', '--cfg-options',
                       'train_dataloader.dataset.exclude_file=None')
    assert status == 0, out
    assert "[WARN] " + pkl + ": 1 of 3 train keyframes have no proposals" \
        in out


def test_no_val_proposal_file_is_reported(check_ava_tool, ava_tiny_root,
                                          capsys, monkeypatch):
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--cfg-options',
                       'val_dataloader.dataset.proposal_file=None',
                       'test_dataloader.dataset.proposal_file=None')
    assert status == 1
    assert 'val_dataloader.dataset.proposal_file: no person proposals for ' \
        'evaluation' in out


def test_exclusions_of_another_split_are_reported(
        check_ava_tool, ava_tiny_root, capsys, monkeypatch, tmp_path):
    ex = tmp_path / 'other_excl.csv'
    ex.write_text('AAAAAAAAAAA,0902\nBBBBBBBBBBB,1000\n')
    status, out = _run(check_ava_tool, ava_tiny_root, capsys, monkeypatch,
                       '--splits', 'train', '--cfg-options',
                       f'train_dataloader.dataset.exclude_file={ex}')
    assert status == 1
    assert f'{ex}: none of its 2 video ids occurs in' in out


def test_cli_exit_status(ava_tiny_root):
    shutil.rmtree(osp.join(ava_tiny_root, 'rawframes', '0f39OWEqJ24'))
    env = dict(os.environ, AVA_TINY_ROOT=ava_tiny_root, OMP_NUM_THREADS='1')
    r = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'check_ava.py'), '--config',
         SMOKE_CFG, '--splits', 'val'], env=env, capture_output=True,
        text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'have no frame folder' in r.stdout


# ---------------------------------------------------------------- config only
def _use_label_file(cfg, path):
    for d in (cfg.train_dataloader.dataset, cfg.val_dataloader.dataset,
              cfg.test_dataloader.dataset, cfg.val_evaluator,
              cfg.test_evaluator):
        d.label_file = path


def test_read_label_ids_both_formats(shared_data):
    pb = read_label_ids(osp.join(shared_data, 'ava_tiny', 'action_list.txt'))
    assert pb == [12, 17, 79, 80]
    plain = read_label_ids(osp.join(shared_data, 'label_maps',
                                    'ava_label_map.txt'))
    assert len(plain) == 60 and plain[:3] == [1, 3, 4] and plain[-1] == 80


def test_main_config_uses_60_classes_everywhere(shared_data):
    cfg = Config.fromfile(MAIN_CFG)
    ids = read_label_ids(osp.join(shared_data, 'label_maps',
                                  'ava_label_map.txt'))
    assert cfg.model.roi_head.bbox_head.num_classes == len(ids) + 1 == 61
    for ds in (cfg.train_dataloader.dataset, cfg.val_dataloader.dataset):
        assert ds.custom_classes == ids and ds.num_classes == 61
    assert cfg.val_evaluator.custom_classes == ids
    assert cfg.val_evaluator.num_classes == 61
    # point the label files at the shared 60-class map: no problem remains
    lm = osp.join(shared_data, 'label_maps', 'ava_label_map.txt')
    _use_label_file(cfg, lm)
    assert ava_config_problems(cfg) == []


@pytest.mark.parametrize('change,needle', [
    (dict(topk=(3, 61)),
     'topk (3, 61) has values outside [1, num_classes=61)'),
    (dict(background_class=False), 'background_class is not True'),
])
def test_head_problems(shared_data, change, needle):
    cfg = Config.fromfile(MAIN_CFG)
    lm = osp.join(shared_data, 'label_maps', 'ava_label_map.txt')
    _use_label_file(cfg, lm)
    cfg.model.roi_head.bbox_head.update(change)
    with pytest.raises(AVAConfigError, match=re.escape(needle)):
        check_ava_config(cfg)


def test_metric_custom_classes_mismatch(shared_data):
    cfg = Config.fromfile(MAIN_CFG)
    lm = osp.join(shared_data, 'label_maps', 'ava_label_map.txt')
    _use_label_file(cfg, lm)
    # the silent mAP-0 case: metric maps head indices with raw AVA ids
    cfg.val_evaluator.custom_classes = None
    cfg.val_evaluator.num_classes = 81
    msgs = [p.message for p in ava_config_problems(cfg)]
    assert any('num_classes=81 but the head has num_classes=61' in m
               for m in msgs), msgs
    assert any('disagree on custom_classes' in m for m in msgs), msgs


def test_config_check_hook_raises_before_run(shared_data):
    """The hook in the AVA configs stops a run whose head and metric
    disagree, before any training step."""
    from types import SimpleNamespace

    from mmaction.registry import HOOKS
    cfg = Config.fromfile(MAIN_CFG)
    assert dict(type='AVAConfigCheckHook') in cfg.custom_hooks
    lm = osp.join(shared_data, 'label_maps', 'ava_label_map.txt')
    _use_label_file(cfg, lm)
    hook = HOOKS.build(dict(type='AVAConfigCheckHook'))
    hook.before_run(SimpleNamespace(cfg=cfg))  # consistent: no error
    cfg.model.roi_head.bbox_head.num_classes = 81
    with pytest.raises(AVAConfigError, match='head num_classes=81 but the '
                       'label file .* has 60 classes'):
        hook.before_run(SimpleNamespace(cfg=cfg))
