"""docs/troubleshooting.md, section 6: a planted NaN stops the run at once,
naming the iteration, the
loss terms, the batch and the last good checkpoint, and nothing of the bad
iteration is saved; the collapse detector warns when the queued embeddings
lose their spread."""
import math
import os.path as osp
import types

import pytest
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from mmiivcl.engine.hooks import EmbeddingCollapseHook, NonFiniteLossHook
from mmiivcl.engine.hooks import embedding_collapse_hook as cmh
from mmiivcl.engine.hooks.embedding_collapse_hook import embedding_spread
from mmiivcl.models.utils import FeatureQueue

PIPELINE = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=4, frame_interval=2, num_clips=2),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]


class PlantNaN(Hook):
    """Temperature 0 from the 4th iteration on: logits / 0 -> NaN loss."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            runner.model.temperature = 0.0


@pytest.mark.timeout(120)
def test_planted_nan_stops_with_iteration_terms_and_last_checkpoint(
        tmp_path, tiny_data, rel, clean_env):
    work = tmp_path / 'work'
    cfg = rel.runner_cfg(
        str(work), 'nan_run', osp.join(tiny_data, 'train_list.txt'),
        PIPELINE, data_root=osp.join(tiny_data, 'videos'),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            nonfinite=dict(type='NonFiniteLossHook')),
        custom_hooks=[dict(type='MomentumUpdateHook', base_momentum=0.99),
                      PlantNaN(at_iter=3)])
    runner = Runner(**cfg)
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    msg = str(err.value)
    assert 'Non-finite loss at iteration 4 ' in msg
    assert 'loss_intra=nan' in msg and '<-- non-finite' in msg
    assert 'loss_nn=' in msg
    last = str(work / 'iter_2.pth')
    assert f'last good checkpoint: {last}' in msg
    assert f'--resume {last}' in msg
    assert 'samples (sample_idx):' in msg and '.mp4)' in msg
    assert osp.isfile(last) and not osp.exists(work / 'iter_4.pth')
    # the saved checkpoint is clean
    sd = torch.load(last, map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in sd.values()
               if v.is_floating_point())


def test_nonfinite_hook_ignores_finite_and_names_first_checkpoint_absent():
    hub = MessageHub.get_instance('nonfinite_unit')
    runner = types.SimpleNamespace(iter=0, epoch=0, message_hub=hub)
    hook = NonFiniteLossHook()
    hook.after_train_iter(runner, 0, None, dict(loss=torch.tensor(1.0),
                                                acc_intra=float('nan')))
    with pytest.raises(FloatingPointError) as err:
        hook.after_train_iter(runner, 0, None,
                              dict(loss_nn=torch.tensor(math.inf)))
    assert 'loss_nn=inf' in str(err.value)
    assert 'none saved yet' in str(err.value)


def _queue(rows, dim=16):
    q = FeatureQueue(len(rows), dim)
    q.enqueue(rows, torch.arange(len(rows)), gather=False)
    return q


def test_spread_of_uniform_and_collapsed_embeddings():
    g = torch.Generator().manual_seed(0)
    uniform = F.normalize(torch.randn(4000, 16, generator=g), dim=1)
    assert abs(embedding_spread(uniform) - 1.0) < 0.05
    same = F.normalize(torch.randn(1, 16, generator=g), dim=1).repeat(50, 1)
    assert embedding_spread(same) < 1e-5


def test_collapse_warning(monkeypatch):
    msgs = []
    monkeypatch.setattr(cmh, 'print_log', lambda m, **k: msgs.append(m))
    g = torch.Generator().manual_seed(1)
    base = F.normalize(torch.randn(1, 16, generator=g), dim=1)
    model = torch.nn.Module()
    model.queue_nn = _queue(F.normalize(
        torch.randn(128, 16, generator=g), dim=1))
    hub = MessageHub.get_instance('collapse_unit')
    runner = types.SimpleNamespace(iter=9, model=model, message_hub=hub)
    hook = EmbeddingCollapseHook(interval=10, threshold=0.1, min_rows=64)
    hook.after_train_iter(runner, 0)
    assert not msgs and hub.get_scalar('train/spread_queue_nn').current() > .9
    # collapse: all keys almost the same vector
    model.queue_nn = _queue(F.normalize(
        base + 1e-3 * torch.randn(128, 16, generator=g), dim=1))
    runner.iter = 19
    hook.after_train_iter(runner, 0)
    assert len(msgs) == 1 and 'collapsing' in msgs[0]
    assert 'model.queue_nn' in msgs[0] and 'iteration 20' in msgs[0]
    runner.iter = 29
    hook.after_train_iter(runner, 0)
    assert len(msgs) == 1  # warned once per episode, still logged
    assert hub.get_scalar('train/spread_queue_nn').current() < 0.1
