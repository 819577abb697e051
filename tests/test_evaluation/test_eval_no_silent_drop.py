"""docs/troubleshooting.md, section 2: evaluation never drops a sample
silently.

An evaluation (``runner.test()``) over real clips plus unreadable files:
without permission it fails and names the file; with
``allow_skip_in_test=True`` it reports ``excluded_videos`` next to the metric
(in the returned metrics and the log line), and the metric equals the one of
an evaluation over the clean list alone (the excluded files really are the
only difference).
"""
import glob
import os.path as osp

import pytest
from mmengine.runner import Runner

from mmiivcl.datasets import UnreadableVideosError

TEST_PIPELINE = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=2, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]


def _runner(tmp_path, name, ann, rel, **ds_kw):
    return Runner(
        model=rel.tiny_model(),
        work_dir=str(tmp_path / name),
        experiment_name=name,
        test_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='UnlabeledVideoDataset', ann_file=ann,
                         test_mode=True, pipeline=TEST_PIPELINE, **ds_kw)),
        test_evaluator=dict(type='KNNMetric', k=3, topk=(1,)),
        test_cfg=dict(type='TestLoop'),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='ExcludedVideosHook')],
        randomness=dict(seed=0), default_scope='mmaction',
        log_level='INFO')


@pytest.mark.timeout(120)
def test_eval_fails_or_reports_excluded_next_to_metric(
        tmp_path, good_videos, bad_videos, rel):
    good = good_videos[:6]
    bad = [bad_videos[k][0] for k in ('empty', 'gif', 'av1', 'corrupted',
                                      'three_frames', 'missing')]
    lines = []
    for i, g in enumerate(good):  # labels: 3 classes x 2
        lines.append(f'{g} {i % 3}')
        if i < len(bad):
            lines.append(f'{bad[i]} {i % 3}')
    mixed = tmp_path / 'mixed.txt'
    mixed.write_text('\n'.join(lines) + '\n')
    clean = tmp_path / 'clean.txt'
    clean.write_text('\n'.join(f'{g} {i % 3}' for i, g in enumerate(good))
                     + '\n')

    # 1. not allowed: fails, naming the unreadable file
    strict = _runner(tmp_path, 'strict', str(mixed), rel)
    with pytest.raises(UnreadableVideosError) as err:
        strict.test()
    assert bad[0] in str(err.value) and 'never drops' in str(err.value)

    # 2. allowed: the metric is computed without them, and says so
    reference = _runner(tmp_path, 'reference', str(clean), rel)
    expected = reference.test()
    assert 'excluded_videos' in expected and expected['excluded_videos'] == 0
    allowed = _runner(tmp_path, 'allowed', str(mixed), rel,
                      allow_skip_in_test=True)
    allowed.model.load_state_dict(reference.model.state_dict())
    metrics = allowed.test()
    assert metrics['excluded_videos'] == len(bad) == 6
    assert metrics['knn_top1'] == expected['knn_top1']
    excluded = {p for p, _ in allowed.test_dataloader.dataset.excluded}
    assert excluded == set(bad)
    assert len(allowed.test_dataloader.dataset) == len(good)
    # in the same log line as the metric
    log = open(glob.glob(osp.join(allowed.log_dir, '*.log'))[0]).read()
    line = [ln for ln in log.splitlines() if 'knn_top1' in ln and
            'excluded_videos' in ln]
    assert line and 'excluded_videos: 6' in line[-1]
    assert 'WITHOUT 6 unreadable video(s)' in log
    assert '6 val x 6 train' in log  # the metric saw exactly the good ones
