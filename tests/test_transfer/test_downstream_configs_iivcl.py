"""Every IIVCL full finetune config (UCF101, HMDB51, SSv2) builds, loads a
backbone checkpoint through model.init_cfg, and runs one training and one
test iteration on CPU on real clips (tiny list files, 64 px crops, one test
clip)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs/downstream/iivcl/*.py')))
# the linear-probe configs run in test_downstream_configs_linear.py, the
# few-shot finetunes in test_downstream_configs_fewshot.py
CONFIGS = [c for c in ALL if '_linear' not in c and 'fewshot' not in c]


def test_all_iivcl_tasks_have_configs():
    names = {osp.basename(c) for c in ALL}
    for want in ('r3d50_8x8_ucf101_finetune.py',
                 'r3d50_8x8_hmdb51_finetune.py',
                 'r3d50_8x8_sthv2_finetune.py', 'r3d50_8x8_k400_linear.py',
                 'r3d50_8x8_ucf101_finetune_fewshot_1pct.py',
                 'r3d50_8x8_ucf101_finetune_fewshot_5pct.py',
                 'r3d50_8x8_ucf101_finetune_fewshot_20pct.py',
                 'r3d50_8x8_k400_linear_fewshot_1pct.py',
                 'r3d50_8x8_k400_linear_fewshot_10pct.py'):
        assert want in names


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_and_tests_one_iteration(config, video_lists,
                                               backbone_ckpt, shrink,
                                               helpers, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.init_cfg.type == 'PretrainedBackbone'
    assert cfg.model.backbone.pretrained is None
    path, state = backbone_ckpt(helpers.SLOWONLY_R50)
    shrink(cfg, video_lists, str(tmp_path), checkpoint=path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    assert runner.iter == 1
    # finetune: the loaded weights moved (all layers train)
    w = model.backbone.conv1.conv.weight
    assert not torch.equal(w, state['conv1.conv.weight'])
    assert w.requires_grad
    metrics = runner.test()
    assert 'acc/top1' in metrics
