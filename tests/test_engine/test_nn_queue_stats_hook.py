"""NNQueueStatsHook: statistics of planted NN choices, the model's record of
Eq.3, and the logging path (message hub, interval, zero cost when off)."""
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import HOOKS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.logging import MessageHub

from mmiivcl.engine.hooks.nn_queue_stats_hook import (chance_label_agreement,
                                                      dataset_video_labels,
                                                      nn_stat_sums,
                                                      nn_stats_from_sums)


class _Dataset:
    """Minimal BaseDataset stand-in: ``get_data_info(i)['label']``."""

    def __init__(self, labels):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return dict(filename=f'v{i}.mp4', label=self.labels[i],
                    sample_idx=i)


def _runner(model, labels, it=0):
    hub = MessageHub.get_instance(f'nnq_test_{uuid.uuid4().hex}')
    return SimpleNamespace(
        model=model, message_hub=hub, iter=it,
        train_dataloader=SimpleNamespace(dataset=_Dataset(labels)))


# video labels:      0  1  2  3  4  5  6  7
VIDEO_LABELS = [0, 0, 1, 1, 2, 2, -1, 1]


def _planted_record():
    # query video -> NN video; hand-checked outcome per row
    rows = [
        (0, 1, 0.9, True),   # same class (0, 0)           agree
        (0, 0, 0.8, True),   # own video                   same + agree
        (2, 3, 0.7, True),   # same class (1, 1)           agree
        (2, 4, 0.6, True),   # classes 1 vs 2              disagree
        (4, 6, 0.5, True),   # NN unlabelled               not counted
        (5, 7, 0.4, True),   # classes 2 vs 1              disagree
        (3, 2, 0.95, False),  # no valid NN: ignored entirely
    ]
    q, nv, s, f = zip(*rows)
    return dict(query_video=torch.tensor(q), nn_video=torch.tensor(nv),
                nn_sim=torch.tensor(s), found=torch.tensor(f))


def test_pure_statistics_match_hand_count():
    rec = _planted_record()
    out = nn_stats_from_sums(nn_stat_sums(
        rec['nn_video'], rec['nn_sim'], rec['found'], rec['query_video'],
        torch.tensor(VIDEO_LABELS)))
    sims = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert out['nnq_sim_mean'] == pytest.approx(sims.mean(), abs=1e-6)
    assert out['nnq_sim_std'] == pytest.approx(sims.std(), abs=1e-6)
    assert out['nnq_same_video'] == pytest.approx(1 / 6)
    # labelled pairs: rows 0-3 and 5 -> 3 agreements of 5
    assert out['nnq_label_agree'] == pytest.approx(3 / 5)
    # without labels there is no agreement key
    out = nn_stats_from_sums(nn_stat_sums(
        rec['nn_video'], rec['nn_sim'], rec['found'], rec['query_video']))
    assert 'nnq_label_agree' not in out
    # nothing found: nothing reported
    assert nn_stats_from_sums(nn_stat_sums(
        rec['nn_video'], rec['nn_sim'], torch.zeros(7, dtype=torch.bool),
        rec['query_video'])) == {}


def test_hook_logs_planted_step_at_its_interval(recording_model):
    model = recording_model(queue_len=10)
    model.queue_nn.enqueue(F.normalize(torch.randn(4, 4), dim=1),
                           torch.tensor([0, 1, 2, 3]), gather=False)
    hook = HOOKS.build(dict(type='NNQueueStatsHook', interval=3))
    runner = _runner(model, VIDEO_LABELS, it=0)
    hook.before_train(runner)
    for it in range(6):
        runner.iter = it
        hook.before_train_iter(runner, it)
        logs = (it + 1) % 3 == 0
        assert model.recording == logs  # recording only where it is logged
        if logs:  # the model's step: record what Eq.3 picked
            model.picks = _planted_record()
        hook.after_train_iter(runner, it)
        assert model.recording is False and model.picks is None
    hub = runner.message_hub
    assert hub.get_scalar('train/nnq_fill').current() == pytest.approx(0.4)
    assert hub.get_scalar('train/nnq_label_agree').current() == \
        pytest.approx(3 / 5)
    assert hub.get_scalar('train/nnq_same_video').current() == \
        pytest.approx(1 / 6)
    # one value per logged step (iterations 2 and 5)
    assert len(hub.get_scalar('train/nnq_label_agree').data[0]) == 2


def test_unlabelled_dataset_gives_no_agreement(recording_model):
    assert dataset_video_labels(_Dataset([-1, -1, -1])) is None
    model = recording_model()
    hook = HOOKS.build(dict(type='NNQueueStatsHook', interval=1))
    runner = _runner(model, [-1] * 8)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    model.picks = _planted_record()
    hook.after_train_iter(runner, 0)
    keys = set(runner.message_hub.log_scalars)
    assert 'train/nnq_same_video' in keys
    assert 'train/nnq_label_agree' not in keys
    assert chance_label_agreement([0, 0, 1, 1]) == pytest.approx(0.5)


def _iivcl(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.eval()
    return model


def test_iivcl_records_the_eq3_choice_before_enqueue(tiny_iivcl_cfg):
    model = _iivcl(tiny_iivcl_cfg)
    q = model.queue_nn
    q.enqueue(F.normalize(torch.randn(6, 16), dim=1),
              torch.tensor([10, 11, 12, 13, 1, 14]), gather=False)
    x = torch.randn(3, 2, 3, 4, 32, 32)
    vid = [1, 2, 3]
    samples = [ActionDataSample(metainfo=dict(sample_idx=i)) for i in vid]

    with torch.no_grad():
        model.loss(x, samples)
    assert model.pop_nn_picks() is None  # nothing recorded unless asked

    bank = q.feats.clone()  # the queue the recorded step looks up
    ind = q.indices.clone()
    model.record_nn_picks(True)
    with torch.no_grad():
        model.loss(x, samples)
    rec = model.pop_nn_picks()
    # independent Eq.3: momentum keys of every clip (clip-major), NN among
    # written rows of other videos in the queue as it was before the step
    with torch.no_grad():
        clips = x.transpose(0, 1).flatten(0, 1)
        k = model.momentum_encoder['head_nn'](model.pool(
            model.momentum_encoder['backbone'](clips)))
    qv = torch.tensor(vid).repeat(2)
    sim = k @ bank.t()
    sim[(ind.unsqueeze(0) < 0) | (ind.unsqueeze(0) == qv.unsqueeze(1))] = \
        -float('inf')
    best, arg = sim.max(1)
    assert torch.equal(rec['query_video'], qv)
    assert torch.equal(rec['nn_video'], ind[arg])
    assert torch.allclose(rec['nn_sim'], best, atol=1e-5)
    assert bool(rec['found'].all())
    assert not bool((rec['nn_video'] == rec['query_video']).any())
