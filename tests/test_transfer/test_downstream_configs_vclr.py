"""VCLR R2D-50 downstream configs (TSN UCF101 / HMDB51 / SSv2, TSM SSv2):
build, load an R2D-50 backbone checkpoint through model.init_cfg (TSM via the
wrapper mapping), one CPU training and test iteration on real clips; and the
test-only path of tools/test.py."""
import glob
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs/downstream/vclr/*.py')))
TSM = 'configs/downstream/vclr/tsm_r2d50_1x1x8_sthv2.py'


def test_all_vclr_tasks_have_configs():
    assert {osp.basename(c) for c in CONFIGS} >= {
        'tsn_r2d50_1x1x3_ucf101.py', 'tsn_r2d50_1x1x8_hmdb51.py',
        'tsn_r2d50_1x1x8_sthv2.py', 'tsm_r2d50_1x1x8_sthv2.py'}


def _unwrapped(name: str) -> str:
    return name.replace('.net.', '.')


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_and_tests_one_iteration(config, video_lists,
                                               backbone_ckpt, shrink,
                                               helpers, tmp_path,
                                               monkeypatch):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.init_cfg.type == 'PretrainedBackbone'
    assert cfg.model.backbone.pretrained is None
    path, state = backbone_ckpt(helpers.RESNET_R50)
    shrink(cfg, video_lists, str(tmp_path), checkpoint=path)
    runner = Runner.from_cfg(cfg)
    # record what the initializer loaded (before the training step moves it)
    from mmiivcl.models import pretrained as pb
    reports = []
    original = pb.load_backbone_checkpoint

    def spy(*args, **kwargs):
        reports.append(original(*args, **kwargs))
        return reports[-1]

    monkeypatch.setattr(pb, 'load_backbone_checkpoint', spy)
    runner.train()
    assert runner.iter == 1
    (report, ) = reports
    assert report['num_loaded'] == report['num_total'] == len(state)
    assert report['missing'] == [] and report['ratio'] == 1.0
    if 'tsm' in config:
        assert len(report['renamed']) == 16  # first conv of every block
    assert 'acc/top1' in runner.test()


def test_test_only_run_loads_pretraining_checkpoint(video_lists, shrink,
                                                    backbone_ckpt, helpers,
                                                    tool, tmp_path,
                                                    monkeypatch):
    """tools/test.py with a backbone-only checkpoint: loaded through the
    PretrainedBackbone loader (report, TSM mapping), not mmengine's silent
    strict=False load; a finetuned checkpoint loads normally."""
    path, state = backbone_ckpt(helpers.RESNET_R50)
    cfg = Config.fromfile(osp.join(REPO, TSM))
    shrink(cfg, video_lists, str(tmp_path / 'w'), checkpoint=None)
    cfg_file = str(tmp_path / 'tsm_tiny.py')
    cfg.dump(cfg_file)
    test_tool = tool('test')
    seen = {}
    original = test_tool.load_backbone_checkpoint

    def spy(model, ckpt, **kwargs):
        seen['report'] = original(model, ckpt, **kwargs)
        seen['backbone'] = {k: v.clone()
                            for k, v in model.backbone.state_dict().items()}
        return seen['report']

    monkeypatch.setattr(test_tool, 'load_backbone_checkpoint', spy)
    monkeypatch.setattr(sys, 'argv', ['test.py', cfg_file, path,
                                      '--work-dir', str(tmp_path / 'w')])
    test_tool.main()
    assert seen['report']['num_loaded'] == len(state)
    for k, v in seen['backbone'].items():
        assert torch.equal(v, state[_unwrapped(k)]), k

    # a checkpoint of the recognizer itself is not routed to the loader
    runner = Runner.from_cfg(Config.fromfile(cfg_file))
    finetuned = str(tmp_path / 'finetuned.pth')
    torch.save({'state_dict': runner.model.state_dict()}, finetuned)
    assert not test_tool.load_pretrained_backbone_if_needed(
        runner, finetuned, 0.9)
