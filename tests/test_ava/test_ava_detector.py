"""The AVA configs build mmdet's FastRCNN with the SSL backbone, and the CPU
smoke config trains one iteration and validates one iteration on ava_tiny.

Model: the real SlowOnly R50 8x8 (not a depth-18 stand-in); the smoke config
only shrinks the frames (64 px crops / short side 64).
"""
import logging
import math
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmaction.registry import MODELS
from mmiivcl.models.pretrained import load_backbone_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAIN_CFG = osp.join(REPO, 'configs', 'downstream', 'ava', 'r3d50_8x8_ava22.py')
SMOKE_CFG = osp.join(REPO, 'configs', 'downstream', 'ava',
                     'r3d50_8x8_ava_tiny_cpu.py')
IIVCL_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'iivcl_r3d50.py')


@pytest.fixture(scope='module')
def iivcl_ckpt(tmp_path_factory):
    """A full IIVCL pretraining checkpoint (R3D-50, small queues)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(IIVCL_CFG)
    cfg.model.queue_len = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'iivcl_r3d50.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    del model
    yield path
    os.remove(path)  # 390 MB: do not leave it in pytest's kept temp dirs


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_detector_builds_with_all_backbone_tensors_loaded(iivcl_ckpt):
    init_default_scope('mmaction')
    cfg = Config.fromfile(MAIN_CFG)
    assert cfg.model.type == 'FastRCNN' and cfg.model._scope_ == 'mmdet'
    assert cfg.model.init_cfg.type == 'PretrainedBackbone'
    cfg.model.init_cfg.checkpoint = iivcl_ckpt
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'FastRCNN'
    assert type(model.backbone).__name__ == 'ResNet3dSlowOnly'
    assert type(model.roi_head).__name__ == 'AVARoIHead'
    assert model.roi_head.bbox_head.fc_cls.out_features == 61

    logger = MMLogger.get_current_instance()
    rec = _Records()
    logger.addHandler(rec)
    try:
        model.init_weights()
    finally:
        logger.removeHandler(rec)

    # the loader's report (logged by the model-level init_cfg)
    text = '\n'.join(rec.lines)
    m = re.search(r'loaded (\d+)/(\d+) backbone tensors', text)
    assert m, text[-2000:]
    assert m.group(1) == m.group(2)

    # independent check: every backbone.* tensor of the checkpoint is now in
    # the detector's backbone (after the children's own init_weights ran)
    state = torch.load(iivcl_ckpt, map_location='cpu')['state_dict']
    src = {k[len('backbone.'):]: v for k, v in state.items()
           if k.startswith('backbone.')}
    dst = model.backbone.state_dict()
    assert set(src) == set(dst)
    for k, v in src.items():
        assert torch.equal(dst[k], v), k
    # the RoI head is not in the checkpoint: it keeps its own (xavier) init
    assert not any(k.startswith('roi_head.') for k in state)
    assert model.roi_head.bbox_head.fc_cls.weight.std() > 0

    # the function the test-only tools use reports the same
    report = load_backbone_checkpoint(model, iivcl_ckpt)
    assert report['num_loaded'] == report['num_total'] == len(dst)
    assert report['missing'] == [] and report['mismatched'] == []
    assert report['unexpected'] == []
    assert report['ratio'] == 1.0


def test_smoke_config_trains_and_validates_on_cpu(ava_tiny_root, iivcl_ckpt,
                                                  tmp_path, monkeypatch):
    monkeypatch.setenv('AVA_TINY_ROOT', ava_tiny_root)
    monkeypatch.chdir(tmp_path)  # AVAMetric writes its csv into the cwd
    cfg = Config.fromfile(SMOKE_CFG)
    assert cfg.train_dataloader.dataset.ann_file.startswith(ava_tiny_root)
    # same model and pipeline types as the full config
    full = Config.fromfile(MAIN_CFG)
    assert cfg.model.backbone == full.model.backbone
    assert [t['type'] for t in cfg.train_pipeline] == \
        [t['type'] for t in full.train_pipeline]
    assert [t['type'] for t in cfg.val_pipeline] == \
        [t['type'] for t in full.val_pipeline]
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.init_cfg = dict(type='PretrainedBackbone', checkpoint=iivcl_ckpt)
    cfg.default_hooks.checkpoint = None  # no 250 MB write in a unit test
    runner = Runner.from_cfg(cfg)
    runner.train()

    assert runner.iter == 1 and runner.epoch == 1  # one training iteration
    hub = runner.message_hub
    loss = hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert math.isfinite(hub.get_scalar('train/loss_action_cls').current())
    val_map = hub.get_scalar('val/mAP/overall').current()
    assert math.isfinite(val_map) and 0.0 <= val_map <= 1.0
    assert len(runner.val_dataloader.dataset) == 1  # one val iteration
