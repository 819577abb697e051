"""mmiivcl.compat: each upstream patch and the case it is scoped to
(mmaction2's missing module, weights_only allowlist, CPU launcher, recognizer
init_cfg, the AVA stand-in)."""
import io
import pickle

import pytest
import torch

import mmiivcl  # noqa: F401


def test_mmaction_models_import_and_drn_stand_in_fails_clearly():
    import mmaction.models  # noqa: F401  (raises without the stand-in)
    from mmaction.registry import MODELS
    with pytest.raises(ImportError, match='drn'):
        MODELS.build(dict(type='DRN'))


def test_mmengine_message_hub_state_loads_with_weights_only():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i))
    import numpy as np
    ckpt = dict(meta=dict(epoch=1, iter=3, seed=np.int64(5),
                          hist=np.arange(3, dtype=np.float64)),
                message_hub=hub.state_dict(),
                state_dict=dict(w=torch.ones(2)))
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    out = torch.load(buf, weights_only=True)
    assert out['message_hub']['log_scalars']['train/loss'].mean() == 1.0
    assert out['meta']['iter'] == 3 and torch.equal(out['state_dict']['w'],
                                                    torch.ones(2))


class _Evil:
    """Pickles as getattr(HistoryBuffer, '__init__'): must be refused."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_refuses_other_getattr():
    buf = io.BytesIO()
    torch.save({'x': _Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf, weights_only=True)


def test_cpu_ddp_wrapper_cfg_and_launcher_patch():
    from mmengine.dist import utils as dist_utils

    from mmiivcl.compat import cpu_ddp_wrapper_cfg
    assert cpu_ddp_wrapper_cfg()['device_ids'] is None
    assert dist_utils._init_dist_pytorch.__module__ == 'mmiivcl.compat'


class _Calls:
    """Records torch.distributed / torch.<device>.set_device calls."""

    def __init__(self):
        self.log = []

    def recorder(self, what):
        return lambda *a, **k: self.log.append((what, a, k))


@pytest.fixture
def launcher(monkeypatch):
    """The patched launcher with every side effect recorded, no process group
    created; and no accelerator unless a test says so."""
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    calls = _Calls()
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setattr(torch_dist, 'init_process_group',
                        calls.recorder('init_process_group'))
    monkeypatch.setattr(torch.cuda, 'set_device', calls.recorder('cuda'))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for dev in ('mlu', 'npu', 'musa'):
        monkeypatch.setattr(dist_utils, f'is_{dev}_available', lambda: False)
    return dist_utils._init_dist_pytorch, calls


def test_launcher_gloo_without_accelerator_skips_cuda(launcher):
    fn, calls = launcher
    fn('gloo')
    assert calls.log == [('init_process_group', (), {'backend': 'gloo'})]


def test_launcher_with_cuda_runs_mmengine(launcher, monkeypatch):
    fn, calls = launcher
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    fn('gloo')  # mmengine's own function: set_device, then the group
    assert calls.log == [('cuda', (0, ), {}),
                         ('init_process_group', (), {'backend': 'gloo'})]


def test_launcher_nccl_is_not_rewritten_to_gloo(launcher):
    fn, calls = launcher
    fn('nccl')  # mmengine's function, unchanged backend (no CUDA: its error)
    assert calls.log == [('cuda', (0, ), {}),
                         ('init_process_group', (), {'backend': 'nccl'})]


def test_launcher_keeps_mmengine_npu_branch(launcher, monkeypatch):
    import sys
    import types

    from mmengine.dist import utils as dist_utils
    fn, calls = launcher
    monkeypatch.setattr(dist_utils, 'is_npu_available', lambda: True)
    monkeypatch.setitem(sys.modules, 'torch_npu',
                        types.ModuleType('torch_npu'))
    monkeypatch.setattr(torch, 'npu',
                        types.SimpleNamespace(
                            set_device=calls.recorder('npu')),
                        raising=False)
    fn('gloo')
    assert calls.log == [('npu', (0, ), {}),
                         ('init_process_group', (),
                          {'backend': 'hccl', 'rank': 0, 'world_size': 1})]


def test_launcher_other_init_backend_runs_mmengine(launcher):
    fn, calls = launcher
    with pytest.raises(ValueError, match='init_backend'):
        fn('gloo', init_backend='nope')  # mmengine's own check
    assert calls.log == [('cuda', (0, ), {})]


def test_recognizer_accepts_init_cfg_only_as_extra_keyword():
    from mmengine.registry import init_default_scope

    from mmaction.models.recognizers.base import BaseRecognizer
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    assert BaseRecognizer.__init__._mmiivcl_accepts_init_cfg
    backbone = dict(type='ResNet3d', depth=18, pretrained=None,
                    pretrained2d=False, base_channels=8, num_stages=1,
                    out_indices=(0, ), stage_blocks=(1, ),
                    spatial_strides=(1, ), temporal_strides=(1, ),
                    dilations=(1, ), inflate=(1, ))
    head = dict(type='I3DHead', num_classes=3, in_channels=8)
    init_cfg = dict(type='PretrainedBackbone', checkpoint=None)
    with_cfg = MODELS.build(dict(type='Recognizer3D', backbone=backbone,
                                 cls_head=head, init_cfg=init_cfg))
    assert with_cfg.init_cfg == init_cfg
    assert with_cfg.init_cfg is not init_cfg  # a copy
    without = MODELS.build(dict(type='Recognizer3D', backbone=backbone,
                                cls_head=head))
    assert without.init_cfg is None  # mmengine's BaseModule default
    # the wrapper forwards everything else unchanged
    assert type(with_cfg.backbone) is type(without.backbone)
    assert with_cfg.cls_head.num_classes == 3


def test_ava_stand_in_only_without_ops():
    from mmaction.registry import MODELS

    from mmiivcl import compat
    cls = MODELS.module_dict.get('FastRCNN', None)
    if compat.mmcv_ops_available():
        # the ops environment: mmdet's FastRCNN, no stand-in anywhere
        assert cls is None or cls.__module__.startswith('mmdet')
        from mmdet.registry import MODELS as MMDET_MODELS
        assert MMDET_MODELS.get('FastRCNN').__module__.startswith('mmdet')
    else:
        with pytest.raises(compat.MissingOpsError,
                           match='setup_env.sh --with-ops'):
            cls()


class _Toy(torch.nn.Module):
    """A model for mmengine's Runner: a linear layer and a BN buffer."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.bn = torch.nn.BatchNorm1d(2)

    def forward(self, inputs, data_samples=None, mode='loss'):
        out = self.bn(self.fc(inputs))
        return dict(loss=(out - data_samples).pow(2).mean())

    def train_step(self, data, optim_wrapper):
        with optim_wrapper.optim_context(self):
            losses = self(**data)
        parsed, log_vars = _parse(losses)
        optim_wrapper.update_params(parsed)
        return log_vars


def _parse(losses):
    loss = losses['loss']
    return loss, dict(loss=loss.detach())


def _toy_runner(work_dir, max_epochs, resume_from=None):
    from mmengine.runner import Runner
    g = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(3, generator=g),
                 data_samples=torch.randn(2, generator=g))
            for _ in range(8)]
    return Runner(
        model=_Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=data, batch_size=4,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=True),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=3),
        load_from=resume_from, resume=resume_from is not None,
        default_scope='mmaction', experiment_name=f'toy{max_epochs}')


def test_mmengine_training_checkpoint_resumes_under_weights_only(tmp_path):
    """A full checkpoint of mmengine's Runner (model, optimizer, scheduler,
    message hub, meta with numpy objects) loads with weights_only=True, needs
    only globals the allowlist names, and resumes."""
    a = _toy_runner(tmp_path / 'a', max_epochs=2)
    a.train()
    path = str(tmp_path / 'a' / 'epoch_1.pth')
    # the globals the pickle names (read with pickletools, independently of
    # torch): the message hub's HistoryBuffer and numpy arrays among them
    import pickletools
    import zipfile
    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith('data.pkl')))
    names = {arg.replace(' ', '.') for op, arg, _ in pickletools.genops(pkl)
             if op.name == 'GLOBAL'}
    assert any('HistoryBuffer' in g for g in names), names
    assert any(g.startswith('numpy') for g in names), names
    # ... and torch finds none of them outside the allowlist
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert {'meta', 'state_dict', 'optimizer', 'param_schedulers',
            'message_hub'} <= set(ckpt)
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == 2
    # resume from epoch 1 and finish epoch 2: same final state as run a
    b = _toy_runner(tmp_path / 'b', max_epochs=2, resume_from=path)
    b.train()
    assert b.iter == a.iter == 4
    sa, sb = a.model.state_dict(), b.model.state_dict()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    hub = b.message_hub.get_scalar('train/loss')
    assert len(hub.data[0]) >= 3  # history carried over from the checkpoint
