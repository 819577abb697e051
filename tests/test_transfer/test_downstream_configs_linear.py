"""K400 linear probe (full and few-shot configs): one CPU training and test
iteration each; after a few iterations only the classifier changed, BN
running statistics and every backbone tensor are bit-identical; a backbone
that is not frozen is refused before training."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(
        osp.join(REPO, 'configs/downstream/iivcl/*_linear*.py')))
LINEAR = 'configs/downstream/iivcl/r3d50_8x8_k400_linear.py'


class Snapshot(Hook):
    """State of the model right before the first iteration (after
    init_weights and the checkpoint load)."""

    def before_train(self, runner):
        self.state = {k: v.clone()
                      for k, v in runner.model.state_dict().items()}


def test_linear_configs_found():
    assert len(CONFIGS) == 3 and LINEAR in CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_and_tests_one_iteration(config, video_lists,
                                               backbone_ckpt, shrink,
                                               helpers, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.backbone.frozen_stages == 4
    assert cfg.model.backbone.norm_eval is True
    assert cfg.model.cls_head.dropout_ratio == 0.0
    path, state = backbone_ckpt(helpers.SLOWONLY_R50)
    shrink(cfg, video_lists, str(tmp_path), checkpoint=path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
    for k, v in runner.model.backbone.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert 'acc/top1' in runner.test()


def test_only_classifier_changes(video_lists, backbone_ckpt, shrink, helpers,
                                 tmp_path):
    cfg = Config.fromfile(osp.join(REPO, LINEAR))
    path, state = backbone_ckpt(helpers.SLOWONLY_R50)
    shrink(cfg, video_lists, str(tmp_path), checkpoint=path, batch_size=1,
           max_epochs=2)  # 2 videos, batch 1: 4 iterations
    cfg.auto_scale_lr.enable = False  # lr 0.5: the head surely moves
    runner = Runner.from_cfg(cfg)
    snap = Snapshot()
    runner.register_hook(snap)
    runner.train()
    assert runner.iter == 4
    model = runner.model
    # the optimizer holds exactly the classifier's parameters
    opt_params = {id(p) for g in runner.optim_wrapper.optimizer.param_groups
                  for p in g['params']}
    assert opt_params == {id(p) for p in model.cls_head.parameters()}
    after = model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], snap.state[k])}
    assert changed == {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
    # backbone incl. BN running mean/var (and counters) = the checkpoint
    bn_stats = [k for k in state if k.endswith(('running_mean',
                                                'running_var'))]
    assert bn_stats
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_unfrozen_backbone_is_refused(video_lists, shrink, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, LINEAR))
    shrink(cfg, video_lists, str(tmp_path), checkpoint=None)
    cfg.model.backbone.frozen_stages = -1
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match='require grad'):
        runner.train()  # LinearProbeOptimWrapperConstructor
    assert runner.iter == 0


def test_frozen_backbone_check_hook():
    """Trainable params or BN layers in train mode fail before iteration 0."""
    import logging
    import types

    from mmiivcl.engine.hooks import FrozenBackboneCheckHook

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                                torch.nn.BatchNorm2d(4))
            self.cls_head = torch.nn.Linear(4, 2)

    def runner_for(net):
        return types.SimpleNamespace(model=net,
                                     logger=logging.getLogger('t'))

    net = Net()
    with pytest.raises(RuntimeError, match='require grad'):
        FrozenBackboneCheckHook().before_train_iter(runner_for(net), 0)
    net.backbone.requires_grad_(False)
    net.train()  # BN would update its running statistics
    with pytest.raises(RuntimeError, match='BN'):
        FrozenBackboneCheckHook().before_train_iter(runner_for(net), 0)
    net.backbone.eval()
    FrozenBackboneCheckHook().before_train_iter(runner_for(net), 0)
