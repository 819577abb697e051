"""Export a pretraining checkpoint, load it into mmaction2 recognizers.

Expectations are independent of the loader: tensors are compared by value
with the pretraining model's own backbone state.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from mmiivcl.models.pretrained import (BackboneCheckpointError,
                                       is_backbone_only_checkpoint,
                                       load_backbone_checkpoint)

SLOWONLY_R50 = dict(
    type='ResNet3dSlowOnly', depth=50, pretrained=None, pretrained2d=False,
    lateral=False, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
    pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)
RESNET_R50 = dict(type='ResNet', depth=50, pretrained=None, norm_eval=False)


def _iivcl_cfg(backbone: dict, width: int) -> dict:
    head = dict(type='ProjectionMLP', in_channels=width, hid_channels=32,
                out_channels=16, num_layers=3)
    return dict(type='IIVCL', backbone=copy.deepcopy(backbone),
                head_intra=head, head_nn=copy.deepcopy(head), queue_len=32,
                feat_dim=16)


def _recognizer3d(checkpoint=None, backbone=SLOWONLY_R50, num_classes=5):
    return MODELS.build(dict(
        type='Recognizer3D', backbone=copy.deepcopy(backbone),
        cls_head=dict(type='I3DHead', in_channels=2048,
                      num_classes=num_classes),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCTHW'),
        init_cfg=dict(type='PretrainedBackbone', checkpoint=checkpoint)))


@pytest.fixture(scope='module')
def pretraining(tmp_path_factory, helpers):
    """A full IIVCL (R3D-50 SlowOnly) checkpoint saved like mmengine does,
    its exported backbone, and the reference backbone state."""
    init_default_scope('mmaction')
    torch.manual_seed(123)
    model = MODELS.build(_iivcl_cfg(SLOWONLY_R50, 2048))
    model.init_weights()
    with torch.no_grad():
        helpers.randomize_buffers(model.backbone, 7)
        # the momentum encoder differs from the online one: loading the
        # wrong prefix would show
        for p in model.momentum_encoder.parameters():
            p.add_(1.0)
    d = tmp_path_factory.mktemp('pretrain')
    full = str(d / 'epoch_3.pth')
    torch.save({'meta': {'epoch': 3, 'iter': 30,
                         'cfg': "model = dict(type='IIVCL', lambda_nn=1.0)\n"},
                'state_dict': model.state_dict()}, full)
    ref = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    return dict(full=full, ref=ref, dir=d)


@pytest.fixture(scope='module')
def exported(pretraining, tool):
    out = str(pretraining['dir'] / 'backbone.pth')
    tool('export_backbone').main([pretraining['full'], out])
    return out


def test_export_keeps_only_backbone(pretraining, exported):
    ckpt = torch.load(exported, map_location='cpu', weights_only=True)
    keys = list(ckpt['state_dict'])
    assert keys and all(k.startswith('backbone.') for k in keys)
    ref = pretraining['ref']
    assert sorted(k[len('backbone.'):] for k in keys) == sorted(ref)
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(v, ref[k[len('backbone.'):]]), k
    exp = ckpt['meta']['mmiivcl_export']
    assert exp['algorithm'] == 'IIVCL'
    assert exp['source_kind'] == 'pretraining'
    assert ckpt['meta']['epoch'] == 3 and ckpt['meta']['iter'] == 30
    assert 'IIVCL' in ckpt['meta']['cfg']
    assert osp.getsize(exported) < 0.6 * osp.getsize(pretraining['full'])


@pytest.mark.parametrize('which', ['full', 'exported'])
def test_init_cfg_loads_every_backbone_tensor(pretraining, exported, which):
    init_default_scope('mmaction')
    path = pretraining['full'] if which == 'full' else exported
    torch.manual_seed(0)
    rec = _recognizer3d(path)
    before = rec.backbone.state_dict()
    ref = pretraining['ref']
    # the fresh recognizer differs from the pretraining backbone
    assert not torch.equal(before['conv1.conv.weight'],
                           ref['conv1.conv.weight'])
    head_before = rec.cls_head.fc_cls.weight.clone()
    rec.init_weights()
    got = rec.backbone.state_dict()
    assert sorted(got) == sorted(ref)
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    # the head is initialised by its own init_weights, not left untouched
    assert not torch.equal(rec.cls_head.fc_cls.weight, head_before)


def test_function_report_and_test_only_detection(pretraining, exported):
    init_default_scope('mmaction')
    rec = _recognizer3d(None)
    assert is_backbone_only_checkpoint(pretraining['full'], rec)
    assert is_backbone_only_checkpoint(exported, rec)
    report = load_backbone_checkpoint(rec, exported, min_ratio=0.9)
    n = len(pretraining['ref'])
    assert report['num_loaded'] == report['num_total'] == n
    assert report['ratio'] == 1.0
    assert report['missing'] == [] and report['unexpected'] == []
    assert report['kind'] == 'exported'
    for k, v in pretraining['ref'].items():
        assert torch.equal(rec.backbone.state_dict()[k], v), k
    # a finetuned recognizer checkpoint is not "backbone only"
    assert not is_backbone_only_checkpoint({'state_dict': rec.state_dict()},
                                           rec)


def test_r3d18_into_r3d50_raises_naming_the_mismatch(tmp_path):
    init_default_scope('mmaction')
    r18 = MODELS.build(dict(type='ResNet3d', depth=18, pretrained=None,
                            pretrained2d=False))
    path = str(tmp_path / 'r18.pth')
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in r18.state_dict().items()}}, path)
    rec = _recognizer3d(path)
    with pytest.raises(BackboneCheckpointError) as err:
        rec.init_weights()
    msg = str(err.value)
    assert 'backbone.conv1.conv.weight' in msg
    assert str(tuple(r18.state_dict()['conv1.conv.weight'].shape)) in msg
    assert '(64, 3, 1, 7, 7)' in msg  # the R3D-50 SlowOnly stem


def test_partial_checkpoint_below_ratio_names_unloaded(tmp_path,
                                                       backbone_ckpt):
    init_default_scope('mmaction')
    _, state = backbone_ckpt(SLOWONLY_R50)
    dropped = [k for k in state if k.startswith('layer4.')]
    kept = {'backbone.' + k: v for k, v in state.items() if k not in dropped}
    path = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': kept}, path)
    rec = _recognizer3d(None)
    with pytest.raises(BackboneCheckpointError) as err:
        load_backbone_checkpoint(rec, path, min_ratio=0.9)
    assert 'layer4.0.conv1.conv.weight' in str(err.value)
    # with a lower bar it loads and names every unloaded tensor
    report = load_backbone_checkpoint(rec, path, min_ratio=0.1)
    assert sorted(report['missing']) == sorted(dropped)
    assert report['num_loaded'] == len(state) - len(dropped)


def test_missing_checkpoint_file_and_random_init(tmp_path):
    init_default_scope('mmaction')
    rec = _recognizer3d(str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        rec.init_weights()
    rec = _recognizer3d(None)  # documented: random init, WARNING logged
    rec.init_weights()
    assert rec.backbone.is_init


def test_backbone_url_is_refused(tmp_path):
    init_default_scope('mmaction')
    bb = dict(SLOWONLY_R50, pretrained='https://example.invalid/r50.pth')
    rec = _recognizer3d(None, backbone=bb)
    with pytest.raises(BackboneCheckpointError, match='pretrained'):
        rec.init_weights()


def test_r2d_checkpoint_loads_fully_into_tsm(backbone_ckpt):
    """ResNetTSM wraps each block's first conv (`conv1.conv.net.weight`):
    every tensor still loads, through the wrapper mapping."""
    init_default_scope('mmaction')
    path, state = backbone_ckpt(RESNET_R50)
    rec = MODELS.build(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSM', depth=50, pretrained=None,
                      pretrained2d=False, num_segments=8),
        cls_head=dict(type='TSMHead', num_classes=4, in_channels=2048),
        init_cfg=dict(type='PretrainedBackbone', checkpoint=path)))
    rec.init_weights()
    got = rec.backbone.state_dict()
    assert len(got) == len(state)
    shifted = [k for k in got if '.net.' in k]
    assert shifted, 'expected TemporalShift-wrapped convolutions'
    for k, v in got.items():
        assert torch.equal(v, state[k.replace('.net.', '.')]), k
