"""UnlabeledVideoDataset: list files and folder scans, labels, bad videos
skipped and counted in training (also across DataLoader workers), never
dropped silently in test mode; the full pretraining pipeline of the base
config."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch

import mmiivcl  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from mmengine.config import Config

from mmiivcl.datasets import UnlabeledVideoDataset, UnreadableVideosError
from mmiivcl.datasets import unlabeled_video_dataset as uvd

# edge_cases/corrupted.mp4 opens (decord reports 50 frames) but frames from
# 28 on fail to decode (checked in test_corrupted_fixture_fails_late): with a
# stride of 30 the second frame of every clip lies in the broken part, so the
# file fails deterministically.
SMALL_PIPELINE = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleClipPair', clip_len=2, frame_interval=30, num_clips=2),
    dict(type='DecordDecode'),
    dict(type='ClipAugment', scale=(32, 40), crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'filename')),
]


@pytest.fixture(scope='module')
def videos(shared_data):
    return osp.join(shared_data, 'videos')


@pytest.fixture
def mixed_list(videos, tmp_path):
    """List with 2 good clips and 4 bad entries (relative to videos/)."""
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    good = ['kinetics/tai_chi.mp4', 'ucf101/v_Basketball_g01_c01.avi']
    bad = {
        osp.join(videos, 'edge_cases/corrupted.mp4'): 'DECORDError',
        str(empty): 'empty file (0 bytes)',
        osp.join(videos, 'kinetics/no_such_video.mp4'): 'missing file',
        osp.join(videos, 'edge_cases/video_90.mov'): 'fewer than min_frames',
    }
    lines = [good[0], 'edge_cases/corrupted.mp4', str(empty),
             'kinetics/no_such_video.mp4', good[1], 'edge_cases/video_90.mov']
    ann = tmp_path / 'list.txt'
    ann.write_text('\n'.join(lines) + '\n')
    return str(ann), [osp.join(videos, g) for g in good], bad


@pytest.fixture
def warnings_log(monkeypatch):
    msgs = []
    monkeypatch.setattr(uvd, 'print_log',
                        lambda msg, *a, **k: msgs.append(msg))
    return msgs


def test_corrupted_fixture_fails_late(videos):
    import decord
    vr = decord.VideoReader(osp.join(videos, 'edge_cases/corrupted.mp4'),
                            num_threads=1)
    assert len(vr) == 50
    vr.get_batch([0, 20])
    for i in (30, 49):
        with pytest.raises(decord.DECORDError):
            vr.get_batch([i])


def test_list_file_and_labels(videos, tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('# comment\nkinetics/abseiling.mp4 3\n\n'
                   'kinetics/tai_chi.mp4\n'
                   f'{osp.join(videos, "kinetics/flipping_pancake.mkv")} 0\n')
    ds = UnlabeledVideoDataset(ann_file=str(ann),
                               data_prefix=dict(video=videos))
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [i['filename'] for i in infos] == [
        osp.join(videos, 'kinetics/abseiling.mp4'),
        osp.join(videos, 'kinetics/tai_chi.mp4'),
        osp.join(videos, 'kinetics/flipping_pancake.mkv')  # absolute kept
    ]
    assert [i['label'] for i in infos] == [3, -1, 0]
    assert [i['sample_idx'] for i in infos] == [0, 1, 2]


def test_list_file_with_delimiter(videos, tmp_path):
    ann = tmp_path / 'list.csv'
    ann.write_text('kinetics/tai_chi.mp4,7\nkinetics/abseiling.mp4\n')
    ds = UnlabeledVideoDataset(ann_file=str(ann), delimiter=',',
                               data_prefix=dict(video=videos))
    assert [ds.get_data_info(i)['label'] for i in range(2)] == [7, -1]


def test_folder_scan_finds_the_clips(videos):
    root = osp.join(videos, 'kinetics')
    ds = UnlabeledVideoDataset(ann_file=None, data_prefix=dict(video=root))
    expected = sorted(osp.join(root, f) for f in os.listdir(root))
    got = [ds.get_data_info(i)['filename'] for i in range(len(ds))]
    assert got == expected and len(got) == 8
    assert {ds.get_data_info(i)['label'] for i in range(len(ds))} == {-1}


def test_folder_scan_recursive_with_folder_labels(videos):
    ds = UnlabeledVideoDataset(ann_file='', data_prefix=dict(video=videos),
                               folder_labels=True)
    subdirs = sorted(os.listdir(videos))
    assert ds.class_names == subdirs
    expected = sorted(
        glob.glob(osp.join(videos, '*', '*')))  # one level of clips
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert sorted(i['filename'] for i in infos) == expected
    for info in infos:
        sub = osp.relpath(info['filename'], videos).split(os.sep)[0]
        assert info['label'] == subdirs.index(sub)


def test_folder_scan_filters_extensions(tmp_path):
    (tmp_path / 'a').mkdir()
    for name in ('a/x.MP4', 'a/y.avi', 'a/notes.txt', '.hidden.mp4', 'z.webm'):
        (tmp_path / name).write_bytes(b'0')
    ds = UnlabeledVideoDataset(data_prefix=dict(video=str(tmp_path)))
    got = [osp.relpath(ds.get_data_info(i)['filename'], tmp_path)
           for i in range(len(ds))]
    assert got == ['a/x.MP4', 'a/y.avi', 'z.webm']


def test_missing_sources_raise(tmp_path):
    with pytest.raises(FileNotFoundError):
        UnlabeledVideoDataset(data_prefix=dict(video=str(tmp_path / 'no')))
    with pytest.raises(FileNotFoundError):
        UnlabeledVideoDataset(ann_file=str(tmp_path / 'no.txt'))


def test_bad_videos_are_skipped_counted_and_warned_once(
        videos, mixed_list, warnings_log):
    ann, good, bad = mixed_list
    ds = UnlabeledVideoDataset(ann_file=ann, data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE)
    assert len(ds) == 6
    good_idx = {0: good[0], 4: good[1]}
    np.random.seed(0)
    for _epoch in range(2):
        for i in range(len(ds)):
            out = ds[i]
            meta = out['data_samples'].metainfo
            assert meta['filename'] in good  # only good samples come out
            assert good_idx[meta['sample_idx']] == meta['filename']
            assert out['inputs'].shape == (2, 3, 2, 32, 32)
    assert ds.num_skipped == 4
    assert set(ds.bad_files) == set(bad)
    # a bad video requested in both epochs is skipped (and counted) again
    assert ds.num_skip_events >= 8
    reasons = dict(ds.skip_report())
    for path, why in bad.items():
        assert why in reasons[path], (path, reasons[path])
    # warned exactly once per bad file, with its path and reason
    assert len(warnings_log) == 4
    for path, why in bad.items():
        hits = [m for m in warnings_log if path in m]
        assert len(hits) == 1 and why in hits[0]


def test_one_decord_reader_per_sample(videos, mixed_list, monkeypatch):
    import decord
    ann, _, _ = mixed_list
    ds = UnlabeledVideoDataset(ann_file=ann, data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE)
    count = [0]
    original = decord.VideoReader

    def counting(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(decord, 'VideoReader', counting)
    # first use of a file: three readers more, for the seek check whose
    # verdict is then kept (inexact_seek='sequential', the default): the
    # probes' sorted read, and the middle and the last probe each read
    # first on a fresh reader (verify_seek)
    ds[0]
    ds[4]
    assert count[0] == 2 * (1 + 3)
    counts = ds.read_counts()  # both decided once, read by decord
    assert sum(counts.values()) == 2
    assert set(counts) <= {'decord', 'decord (sequential)'}
    count[0] = 0
    ds[0]
    ds[4]
    assert count[0] == 2  # from then on: one reader per sample
    trusting = UnlabeledVideoDataset(
        ann_file=ann, data_prefix=dict(video=videos),
        pipeline=SMALL_PIPELINE, inexact_seek='trust')
    count[0] = 0
    trusting[0]
    trusting[4]
    assert count[0] == 2  # no check: one reader per sample from the start


def test_skip_counts_are_shared_with_dataloader_workers(videos, mixed_list):
    from mmengine.dataset import pseudo_collate
    ann, good, bad = mixed_list
    ds = UnlabeledVideoDataset(ann_file=ann, data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                         collate_fn=pseudo_collate)
    names = []
    for batch in loader:
        names += [d.metainfo['filename'] for d in batch['data_samples']]
    assert len(names) == 6 and set(names) <= set(good)
    # the workers' records reached the main process
    assert ds.num_skipped == 4
    assert set(ds.bad_files) == set(bad)
    assert ds.num_skip_events >= 4


def test_all_bad_raises_with_the_list(videos, tmp_path, warnings_log):
    ann = tmp_path / 'bad.txt'
    ann.write_text('edge_cases/corrupted.mp4\nkinetics/missing.mp4\n')
    ds = UnlabeledVideoDataset(ann_file=str(ann),
                               data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE)
    with pytest.raises(UnreadableVideosError) as info:
        ds[0]
    msg = str(info.value)
    assert osp.join(videos, 'edge_cases/corrupted.mp4') in msg
    assert osp.join(videos, 'kinetics/missing.mp4') in msg
    assert len(info.value.failures) == 2


def test_refetch_cap_raises(videos, tmp_path, warnings_log):
    ann = tmp_path / 'bad.txt'
    ann.write_text('\n'.join(f'kinetics/missing_{i}.mp4'
                             for i in range(10)) + '\n')
    ds = UnlabeledVideoDataset(ann_file=str(ann),
                               data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE, max_refetch=2)
    with pytest.raises(UnreadableVideosError, match='2 replacements'):
        ds[0]
    assert ds.num_skipped == 3


def test_test_mode_never_drops_silently(videos, mixed_list):
    ann, good, bad = mixed_list
    ds = UnlabeledVideoDataset(ann_file=ann, data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE, test_mode=True)
    assert ds[0]['data_samples'].metainfo['filename'] == good[0]
    for i, path in ((1, 'corrupted.mp4'), (3, 'no_such_video.mp4'),
                    (5, 'video_90.mov')):
        with pytest.raises(UnreadableVideosError, match=path):
            ds[i]


def test_allow_skip_in_test_excludes_and_reports(videos, mixed_list,
                                                 warnings_log):
    ann, good, bad = mixed_list
    ds = UnlabeledVideoDataset(ann_file=ann, data_prefix=dict(video=videos),
                               pipeline=SMALL_PIPELINE, test_mode=True,
                               allow_skip_in_test=True)
    assert len(ds) == 2
    assert [ds.get_data_info(i)['filename'] for i in range(2)] == good
    assert {p for p, _ in ds.excluded} == set(bad)
    assert len(warnings_log) == 1 and '4 of 6' in warnings_log[0]
    assert ds[1]['data_samples'].metainfo['sample_idx'] == 1


def test_base_config_pipeline(kinetics_clips, tmp_path, repo_root):
    """The base pretraining config builds and yields (rho, 3, T, 224, 224)
    uint8 inputs with sample_idx, filename and the label."""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/k400_unlabeled.py'))
    root = osp.dirname(kinetics_clips[0])
    ann = tmp_path / 'k400.txt'
    ann.write_text('tai_chi.mp4 5\nabseiling.mp4\n')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.ann_file = str(ann)
    ds_cfg.data_prefix = dict(video=root)
    ds = DATASETS.build(ds_cfg)
    assert isinstance(ds, UnlabeledVideoDataset)
    np.random.seed(0)
    for idx, label in ((0, 5), (1, -1)):
        out = ds[idx]
        x = out['inputs']
        assert x.shape == (cfg.num_clips, 3, 8, 224, 224)
        assert x.dtype == torch.uint8
        assert not torch.equal(x[0], x[1])  # different clips
        sample = out['data_samples']
        assert sample.metainfo['sample_idx'] == idx
        assert sample.metainfo['filename'] == osp.join(
            root, ('tai_chi.mp4', 'abseiling.mp4')[idx])
        assert int(sample.gt_label.item()) == label


def _configs_using_our_transforms(repo_root):
    out = []
    for path in sorted(glob.glob(osp.join(repo_root, 'configs', '**', '*.py'),
                                 recursive=True)):
        with open(path) as f:
            text = f.read()
        if 'SampleClipPair' in text or 'ClipAugment' in text:
            out.append(path)
    return out


def test_config_pipelines_build(repo_root):
    """Every config that names SampleClipPair/ClipAugment passes arguments
    the transforms accept."""
    paths = _configs_using_our_transforms(repo_root)
    assert paths
    for path in paths:
        cfg = Config.fromfile(path)
        for t in cfg.train_pipeline:
            TRANSFORMS.build(t)
