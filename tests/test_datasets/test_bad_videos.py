"""docs/troubleshooting.md, section 1: bad videos never stop pretraining.

A real (tiny) training run over a list that mixes real clips with every kind
of unusable file -- corrupted late (shared edge case), 0 bytes, missing,
GIF, an AV1 codec decord cannot decode, 3 and 4 frames (below min_frames),
and a file whose reader hangs -- with 2 DataLoader workers and a decode
timeout: the run finishes, the skip count aggregated over the workers is
exactly the number of bad files, each with its reason category, and the hung
decode was cut off from outside its process. With a lower bad-file fraction
the run stops with the list. (The aggregation over ranks runs in the
two-process test, test_distributed.py.)
"""
import glob
import os.path as osp
import time

import pytest
import torch
from mmengine.runner import Runner

from mmiivcl.datasets import (DecodeTimeoutError, UnlabeledVideoDataset,
                              UnreadableVideosError)
from mmiivcl.datasets.unlabeled_video_dataset import (REASON_TIMEOUT,
                                                      probe_video)
from mmiivcl.engine.hooks import SkipStatsHook


def _mixed(good_videos, bad_videos):
    """16 entries, good and bad interleaved (batch 4 -> every index is
    requested once per epoch)."""
    bad = [p for p, _ in bad_videos.values()]
    out = []
    for g, b in zip(good_videos, bad):
        out += [g, b]
    return out


def test_generated_fixtures_are_really_unreadable(bad_videos):
    """The generated fixtures fail in decord the way real ones do."""
    for name in ('gif', 'av1'):
        res = probe_video(bad_videos[name][0])
        assert not res['ok'] and 'cannot open' in res['reason'], res
    res = probe_video(bad_videos['hang'][0])  # valid video, made to hang
    assert res['ok'] and res['num_frames'] == 60


@pytest.mark.timeout(240)
def test_training_run_skips_counts_and_cuts_off_a_hung_decode(
        tmp_path, good_videos, bad_videos, hanging_reader, rel, clean_env):
    files = _mixed(good_videos, bad_videos)
    ann = rel.write_list(str(tmp_path / 'mixed.txt'), files)
    hook = SkipStatsHook(interval=1, max_bad_fraction=0.6)
    cfg = rel.runner_cfg(
        str(tmp_path / 'work'), 'skip_run', ann, rel.skip_pipeline,
        train_dataloader=dict(batch_size=4, num_workers=2),
        custom_hooks=[dict(type='MomentumUpdateHook', base_momentum=0.99),
                      hook])
    cfg['train_dataloader']['dataset']['decode_timeout'] = 8.0
    cfg['log_level'] = 'INFO'
    runner = Runner(**cfg)
    t0 = time.time()
    runner.train()  # finishes: no bad file stops it
    elapsed = time.time() - t0
    ds = runner.train_dataloader.dataset
    expected = {p: code for p, code in bad_videos.values()}
    # aggregated over the 2 workers through the shared mask
    assert hook.num_skipped == len(expected) == 8
    assert runner.message_hub.get_scalar(
        'train/skipped_videos').current() == 8
    got = {ds.get_data_info(i)['filename']: int(ds.bad_mask[i])
           for i in range(len(ds)) if ds.bad_mask[i]}
    assert got == expected  # right files, right reason category
    assert hook.num_events >= 8
    # the hang was cut off after ~8 s, not waited for (sleep is 3600 s)
    assert elapsed < 120
    assert runner.iter == 4  # 16 videos / batch 4, every step ran
    # the running count is in the normal log line of every iteration
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    lines = [ln for ln in log.splitlines() if 'Epoch(train)' in ln]
    assert len(lines) == 4 and 'skipped_videos: 8.0000' in lines[-1]


@pytest.mark.timeout(120)
def test_run_stops_above_bad_fraction_with_the_list(
        tmp_path, good_videos, bad_videos, rel, clean_env):
    files = _mixed(good_videos, {k: v for k, v in bad_videos.items()
                                 if k != 'hang'})
    ann = rel.write_list(str(tmp_path / 'mixed.txt'), files)
    cfg = rel.runner_cfg(
        str(tmp_path / 'work'), 'skip_stop', ann, rel.skip_pipeline,
        train_dataloader=dict(batch_size=2),
        custom_hooks=[dict(type='MomentumUpdateHook', base_momentum=0.99),
                      dict(type='SkipStatsHook', interval=1,
                           max_bad_fraction=0.2)])
    runner = Runner(**cfg)
    with pytest.raises(UnreadableVideosError) as err:
        runner.train()
    msg = str(err.value)
    assert 'max_bad_fraction=0.2' in msg and 'tools/check_videos.py' in msg
    assert 'default_hooks.skip_stats.max_bad_fraction' in msg  # full key
    listed = [p for p, _ in err.value.failures]
    assert len(listed) >= 3  # > 20 % of 15 videos
    bad_paths = {p for p, _ in bad_videos.values()}
    assert set(listed) <= bad_paths and all(p in msg for p in listed)


@pytest.mark.timeout(60)
def test_hung_decode_in_a_worker_is_killed_and_counted(
        tmp_path, good_videos, bad_videos, hanging_reader, rel):
    """Dataset level: a DataLoader worker whose decode hangs (in native code
    nothing in-process could interrupt) is not stuck: its helper process is
    killed after decode_timeout, the video counted with reason 'decode timed
    out' and replaced."""
    hang = bad_videos['hang'][0]
    ann = rel.write_list(str(tmp_path / 'l.txt'), [hang, good_videos[0]])
    ds = UnlabeledVideoDataset(ann_file=ann, pipeline=rel.skip_pipeline,
                               decode_timeout=5.0)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=1, num_workers=1, sampler=[0, 1, 0],
        collate_fn=lambda b: b)
    t0 = time.time()
    batches = list(loader)
    assert time.time() - t0 < 40
    names = [osp.basename(b[0]['data_samples'].metainfo['filename'])
             for b in batches]
    assert names == ['tai_chi.mp4'] * 3  # replaced, and then never reopened
    assert int(ds.bad_mask[0]) == REASON_TIMEOUT and ds.num_skipped == 1
    assert ds.num_skip_events == 2
    # test mode: never dropped silently, the hung file is named
    test_ds = UnlabeledVideoDataset(ann_file=ann, pipeline=rel.skip_pipeline,
                                    test_mode=True, decode_timeout=5.0)
    with pytest.raises(UnreadableVideosError) as err:
        test_ds[0]
    assert hang in str(err.value) and 'timed out' in str(err.value)
    assert isinstance(err.value.__cause__, DecodeTimeoutError)
