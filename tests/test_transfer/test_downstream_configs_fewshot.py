"""Every IIVCL few-shot finetune config (UCF101 1 / 5 / 20 %) builds, loads a
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
CONFIGS = [c for c in ALL if '_linear' not in c and 'fewshot' in c]


def test_fewshot_configs_use_the_sampler():
    assert len(CONFIGS) == 3
    for c in CONFIGS:
        cfg = Config.fromfile(osp.join(REPO, c))
        assert cfg.train_dataloader.sampler.type == 'FewShotSampler'
        assert cfg.train_dataloader.sampler.ratio in (0.01, 0.05, 0.2)


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
    # the subset list went to the work dir
    assert glob.glob(osp.join(str(tmp_path), 'few_shot_subset_*.txt'))
