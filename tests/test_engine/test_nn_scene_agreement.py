"""NN statistics on a per-video field besides the class (the demo's scene
``looks``): the dataset carries it from a metadata file, the hooks report
how often the neighbour shares it, and both it and the class, against a
hand count of planted picks."""
import json
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmaction.registry import HOOKS
from mmengine.logging import MessageHub

from mmiivcl.datasets import UnlabeledVideoDataset
from mmiivcl.engine.hooks.nn_queue_stats_hook import (chance_label_agreement,
                                                      field_agree_sums,
                                                      field_agree_stats,
                                                      joint_field)
from mmiivcl.engine.hooks.queue_nn_probe_hook import QueueNNProbeHook
from mmiivcl.models.utils import FeatureQueue

# video:     0  1  2  3  4  5  6  7
LABELS = [0, 0, 1, 1, 2, 2, -1, 1]
LOOKS = [5, 3, 5, 3, 5, 5, 3, -1]
# (query video, NN video, found); by hand: class / look / both agree
PICKS = [
    (0, 1, True),   # class 0=0 yes, look 5 vs 3 no   -> both no
    (0, 2, True),   # class 0 vs 1 no, look 5=5 yes   -> both no
    (2, 3, True),   # class 1=1 yes, look 5 vs 3 no
    (4, 5, True),   # class 2=2 yes, look 5=5 yes     -> both yes
    (1, 6, True),   # class unknown, look 3=3 yes     -> both unknown
    (3, 7, True),   # class 1=1 yes, look unknown
    (5, 0, False),  # no neighbour: ignored
]


def _planted():
    q, nv, f = zip(*PICKS)
    return (torch.tensor(nv), torch.tensor(f), torch.tensor(q))


def _plain_loop(values):
    n = agree = 0
    for q, nv, f in PICKS:
        if not f or values[q] < 0 or values[nv] < 0:
            continue
        n += 1
        agree += values[q] == values[nv]
    return agree / n


def test_field_agreement_equals_a_plain_count():
    both = joint_field(np.array(LABELS), np.array(LOOKS))
    fields = {'looks': torch.tensor(LOOKS),
              'label_looks': torch.from_numpy(both)}
    nv, f, q = _planted()
    out = field_agree_stats(field_agree_sums(nv, f, q, fields), list(fields))
    assert out['nnq_looks_agree'] == pytest.approx(3 / 5)
    assert out['nnq_looks_agree'] == pytest.approx(_plain_loop(LOOKS))
    # both known on rows 0-3, both agree on row 3 only
    assert out['nnq_label_looks_agree'] == pytest.approx(1 / 4)
    # the joint code agrees exactly when class and look both do
    for a in range(len(LABELS)):
        for b in range(len(LABELS)):
            if min(LABELS[a], LABELS[b], LOOKS[a], LOOKS[b]) < 0:
                assert -1 in (both[a], both[b])
            else:
                assert (both[a] == both[b]) == (
                    LABELS[a] == LABELS[b] and LOOKS[a] == LOOKS[b])


def test_chance_of_the_joint_is_the_sum_of_squared_pair_frequencies():
    lab = np.array([0, 0, 1, 1])
    look = np.array([0, 1, 0, 1])
    assert chance_label_agreement(joint_field(lab, look)) == \
        pytest.approx(4 * (1 / 4) ** 2)
    assert chance_label_agreement(look) == pytest.approx(0.5)


class _Dataset:
    def __init__(self):
        self.n = len(LABELS)

    def __len__(self):
        return self.n

    def get_data_info(self, i):
        return dict(label=LABELS[i], looks=LOOKS[i], sample_idx=i)


def test_hook_logs_scene_and_joint_agreement(recording_model):
    model = recording_model()
    hook = HOOKS.build(dict(type='NNQueueStatsHook', interval=1,
                            meta_fields=('looks', )))
    runner = SimpleNamespace(
        model=model, iter=0,
        message_hub=MessageHub.get_instance(f'scene_{uuid.uuid4().hex}'),
        train_dataloader=SimpleNamespace(dataset=_Dataset()))
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    nv, f, q = _planted()
    model.picks = dict(nn_video=nv, found=f, query_video=q,
                         nn_sim=torch.ones(len(PICKS)))
    hook.after_train_iter(runner, 0)
    hub = runner.message_hub
    assert hub.get_scalar('train/nnq_looks_agree').current() == \
        pytest.approx(3 / 5)
    assert hub.get_scalar('train/nnq_label_looks_agree').current() == \
        pytest.approx(1 / 4)
    assert hub.get_scalar('train/nnq_label_agree').current() == \
        pytest.approx(4 / 5)


def test_probe_reports_the_field_on_another_queue():
    """QueueNNProbeHook: one key of video 4 looks up a bank holding videos
    0 (class 0, look 5) and 5 (class 2, look 5); the NN is video 5."""
    q = FeatureQueue(4, 2)
    q.enqueue(torch.tensor([[1., 0.], [0., 1.]]), torch.tensor([0, 5]),
              gather=False)
    snap = dict(feats=q.feats.clone(), indices=q.indices.clone(),
                ptr=int(q.ptr))
    q.enqueue(torch.tensor([[0., 1.]]), torch.tensor([4]), gather=False)
    fields = {'looks': torch.tensor(LOOKS),
              'label_looks': torch.from_numpy(
                  joint_field(np.array(LABELS), np.array(LOOKS)))}
    out = QueueNNProbeHook.probe(q, snap, True, torch.tensor(LABELS), fields)
    assert out['label_agree'] == 1.0
    assert out['looks_agree'] == 1.0 and out['label_looks_agree'] == 1.0


def test_dataset_reads_fields_from_a_manifest(tmp_path):
    root = tmp_path / 'videos'
    (root / 'a').mkdir(parents=True)
    lst = tmp_path / 'list.txt'
    lst.write_text('a/x.mp4 0\na/y.mp4 1\na/z.mp4 1\n')
    manifest = tmp_path / 'manifest.json'
    manifest.write_text(json.dumps(dict(videos=[
        dict(path='a/x.mp4', looks=[2]), dict(path='a/y.mp4', looks=[0, 1]),
    ])))
    ds = UnlabeledVideoDataset(ann_file=str(lst),
                               data_prefix=dict(video=str(root)),
                               meta_file=str(manifest),
                               meta_fields=('looks', ))
    # one-shot list unwrapped; several shots (ambiguous) and missing -> -1
    assert [ds.get_data_info(i)['looks'] for i in range(3)] == [2, -1, -1]
    with pytest.raises(ValueError, match='meta_file'):
        UnlabeledVideoDataset(ann_file=str(lst),
                              data_prefix=dict(video=str(root)),
                              meta_fields=('looks', ))
