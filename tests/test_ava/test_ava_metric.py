"""The project's AVAMetric configuration computes mmaction2's AVA mAP@0.5.

On mmaction2's own evaluation fixture (../shared/data/ava_eval: gt.csv,
pred.csv, action_list.txt), predictions fed through ``AVAMetric`` built from
configs/downstream/ava/r3d50_8x8_ava22.py's ``val_evaluator`` (only the file
paths and the class list swapped for the fixture's) give the same numbers as
calling ``mmaction.evaluation.ava_eval`` on pred.csv directly, and the overall
mAP equals a small hand-written reference (greedy IoU >= 0.5 matching per
keyframe and class, all-point interpolated AP, mean over classes with
detections).
"""
import csv
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.evaluation import ava_eval
from mmaction.registry import METRICS
from mmiivcl.ava.checks import ava_config_problems, read_label_ids

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAIN_CFG = osp.join(REPO, 'configs', 'downstream', 'ava', 'r3d50_8x8_ava22.py')


@pytest.fixture
def ava_eval_dir(shared_data):
    return osp.join(shared_data, 'ava_eval')


def _rows(path):
    with open(path) as f:
        return [r for r in csv.reader(f) if r]


def _predictions_as_samples(pred_csv, custom_full):
    """pred.csv rows -> AVA data samples as BBoxHeadAVA.predict fills them:
    one box per (keyframe, box) with a score vector over head indices."""
    boxes = defaultdict(dict)  # (vid, ts) -> {box: {label: score}}
    for vid, ts, x1, y1, x2, y2, label, score in _rows(pred_csv):
        box = tuple(float(v) for v in (x1, y1, x2, y2))
        boxes[(vid, int(ts))].setdefault(box, {})[int(label)] = float(score)
    samples = []
    for (vid, ts), per_box in boxes.items():
        bb = torch.tensor(list(per_box), dtype=torch.float32)
        sc = torch.zeros(len(per_box), len(custom_full))
        for i, lab_scores in enumerate(per_box.values()):
            for lab, s in lab_scores.items():
                sc[i, custom_full.index(lab)] = s
        samples.append(dict(video_id=vid, timestamp=ts,
                            pred_instances=dict(bboxes=bb, scores=sc)))
    return samples


def _iou(a, b):
    ix = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) \
        - inter
    return inter / union if union > 0 else 0.


def _reference_map(gt_csv, pred_csv, classes):
    """Hand-written PASCAL-style mAP@0.5 (ActivityNet AVA protocol)."""
    gt = defaultdict(list)
    for vid, ts, *box, label, _ in _rows(gt_csv):
        if int(label) in classes:
            gt[(vid, int(ts), int(label))].append([float(v) for v in box])
    dets = defaultdict(list)
    for vid, ts, *box, label, score in _rows(pred_csv):
        key = (vid, int(ts))
        if int(label) in classes and any(k[:2] == key for k in gt):
            dets[int(label)].append((float(score), key,
                                     [float(v) for v in box]))
    aps = []
    for c in classes:
        if not dets[c]:
            continue  # a class without detections has no AP (nanmean)
        n_gt = sum(len(v) for k, v in gt.items() if k[2] == c)
        used = defaultdict(set)
        tp = []
        # per keyframe, detections in descending score claim the best GT
        for s, key, box in sorted(dets[c], key=lambda d: -d[0]):
            cands = gt.get((*key, c), [])
            ious = [_iou(box, g) for g in cands]
            j = int(np.argmax(ious)) if ious else -1
            hit = j >= 0 and ious[j] >= 0.5 and j not in used[key]
            if hit:
                used[key].add(j)
            tp.append(hit)
        tp = np.array(tp, dtype=float)
        ctp = np.cumsum(tp)
        prec = ctp / np.arange(1, len(tp) + 1)
        rec = ctp / n_gt if n_gt else np.zeros_like(ctp)
        # all-point interpolation: area under the monotone precision envelope
        r = np.concatenate([[0.], rec, [1.]])
        p = np.concatenate([[0.], prec, [0.]])
        for i in range(len(p) - 2, -1, -1):
            p[i] = max(p[i], p[i + 1])
        idx = np.where(r[1:] != r[:-1])[0] + 1
        aps.append(float(np.sum((r[idx] - r[idx - 1]) * p[idx])))
    return float(np.mean(aps))


# the fixture has classes 1-3 only: the object / interaction sub-means are nan
@pytest.mark.filterwarnings('ignore:Mean of empty slice:RuntimeWarning')
def test_project_metric_matches_mmaction2_ava_eval(ava_eval_dir, tmp_path,
                                                   monkeypatch):
    gt_csv = osp.join(ava_eval_dir, 'gt.csv')
    pred_csv = osp.join(ava_eval_dir, 'pred.csv')
    label_file = osp.join(ava_eval_dir, 'action_list.txt')
    ids = read_label_ids(label_file)
    assert ids == [1, 2, 3]

    cfg = Config.fromfile(MAIN_CFG)
    metric_cfg = cfg.val_evaluator
    assert metric_cfg.type == 'AVAMetric'
    # keep the project's settings (action_thr, options, class remapping
    # through custom_classes, num_classes = classes + 1); swap the files
    metric_cfg.update(ann_file=gt_csv, label_file=label_file,
                      exclude_file=None, custom_classes=ids,
                      num_classes=len(ids) + 1)
    metric = METRICS.build(metric_cfg)
    custom_full = [0] + ids  # head index -> class id

    samples = _predictions_as_samples(pred_csv, custom_full)
    assert sum(s['pred_instances']['bboxes'].shape[0] for s in samples) > 0
    monkeypatch.chdir(tmp_path)  # AVAMetric writes its csv into the cwd
    metric.process({}, samples)
    ours = metric.evaluate(len(samples))

    direct = ava_eval(pred_csv, 'mAP', label_file, gt_csv, None)
    assert set(ours) == {f'mAP/{k}' for k in direct}
    for k, v in direct.items():
        if np.isnan(v):
            assert np.isnan(ours[f'mAP/{k}'])
        else:
            assert ours[f'mAP/{k}'] == pytest.approx(v, abs=1e-9), k
    overall = ours['mAP/overall']
    assert 0.0 < overall <= 1.0
    assert overall == pytest.approx(
        _reference_map(gt_csv, pred_csv, set(ids)), abs=1e-6)


def test_project_metric_config_agrees_with_the_head():
    """The shipped config's metric remaps indices like the datasets and the
    head (no silent mAP 0 from a class-index mismatch)."""
    cfg = Config.fromfile(MAIN_CFG)
    m = cfg.val_evaluator
    head = cfg.model.roi_head.bbox_head
    assert m.num_classes == head.num_classes == len(m.custom_classes) + 1
    assert m.custom_classes == cfg.val_dataloader.dataset.custom_classes
    assert m.ann_file == cfg.val_dataloader.dataset.ann_file
    assert m.label_file == cfg.val_dataloader.dataset.label_file
    # only the (absent) label file is reported for the shipped config
    problems = ava_config_problems(cfg)
    assert problems and all('label file not found' in p.message
                            for p in problems), [str(p) for p in problems]
