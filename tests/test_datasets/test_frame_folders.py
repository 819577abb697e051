"""JPEG frame folders (mmaction2's rawframes) as a third reader: written by
``extract_frames`` / ``tools/data/prepare_videos.py --frames``, read by the
``'frames'`` backend through the shipped pretraining pipeline.

Expectations are independent of the code under test: the frame count and
pictures of decord's decode of the source, a per-frame ``cv2.imread`` of the
written files, and the video pipeline run on the source with the same seed
(the same clips and augmentation parameters, pixels within JPEG error).
"""
import json
import os
import os.path as osp

import cv2
import decord
import numpy as np
import pytest
from mmengine.config import Config

import mmiivcl  # noqa: F401
from mmiivcl.datasets import UnlabeledVideoDataset
from mmiivcl.datasets.video_backends import (FRAME_TMPL, FRAMES_META,
                                             open_reader)
from mmiivcl.utils.transcode import extract_frames, prepare_one

pytest.importorskip('av', reason='PyAV (requirements/tests.txt) decodes the '
                    'source videos')

CLIP = ('kinetics', 'tai_chi.mp4')  # 340x256, 300 frames


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(10 * np.log10(255.0 ** 2 / max(np.mean(d * d), 1e-12)))


@pytest.fixture(scope='module')
def folder(shared_data, tmp_path_factory):
    src = osp.join(shared_data, 'videos', *CLIP)
    dst = str(tmp_path_factory.mktemp('frames') / 'tai_chi')
    info = extract_frames(src, dst, short_side=320, quality=90)
    return src, dst, info


def test_extract_keeps_every_frame_at_the_source_size(folder):
    src, dst, info = folder
    vr = decord.VideoReader(src)
    names = sorted(n for n in os.listdir(dst) if n.endswith('.jpg'))
    assert names[0] == 'img_00001.jpg' and len(names) == len(vr) == \
        info['frames']
    meta = json.load(open(osp.join(dst, FRAMES_META)))
    assert meta['frames'] == len(vr) and meta['size'] == [340, 256]
    assert meta['fps'] == pytest.approx(vr.get_avg_fps())
    assert not osp.exists(dst + '.part')
    # the pictures are the source's (JPEG q90 and a different YUV->RGB)
    idx = [0, 137, len(vr) - 1]
    ref = vr.get_batch(idx).asnumpy()
    for i, r in zip(idx, ref):
        img = cv2.imread(osp.join(dst, FRAME_TMPL.format(i + 1)))[..., ::-1]
        assert psnr(img, r) > 33.0


def test_reader_is_exact_and_random_access_equals_sequential(folder):
    _, dst, _ = folder
    r = open_reader(dst, 'frames')
    assert len(r) == 300 and r.exact_seek
    idx = [3, 17, 200, 299]
    got = r.read(idx)
    seq = r.read(list(range(300)), sequential=True)
    assert np.array_equal(got, seq[idx])
    want = cv2.imread(osp.join(dst, 'img_00018.jpg'))[..., ::-1]
    assert np.array_equal(got[1], want)  # frame 17 = the 18th file


def test_reader_refuses_bad_folders(folder, tmp_path):
    _, dst, _ = folder
    with pytest.raises(FileNotFoundError, match='not a frame folder'):
        open_reader(str(tmp_path / 'nope'), 'frames')
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(RuntimeError, match='no frames'):
        open_reader(str(empty), 'frames')
    # without frames.json: counted; a missing or broken frame raises
    part = tmp_path / 'part'
    part.mkdir()
    for i in (1, 2, 3):
        os.link(osp.join(dst, FRAME_TMPL.format(i)),
                part / FRAME_TMPL.format(i))
    r = open_reader(str(part), 'frames')
    assert len(r) == 3 and r.get_avg_fps() == 30.0
    (part / FRAME_TMPL.format(2)).write_bytes(b'not a jpeg')
    with pytest.raises(RuntimeError, match='not a decodable image'):
        r.read([1])
    (part / FRAME_TMPL.format(3)).unlink()
    with pytest.raises(OSError):
        r.read([2])
    with pytest.raises(IndexError):
        r.read([3])


def test_prepare_one_skips_a_complete_folder(folder):
    src, dst, _ = folder
    out = prepare_one(src, dst, frames_quality=90)
    assert out['skipped'] and out['bytes'] > 0


def _dataset(ann, root, pipeline, backend):
    return UnlabeledVideoDataset(ann_file=str(ann),
                                 data_prefix=dict(video=root),
                                 pipeline=pipeline, video_backend=backend)


def test_shipped_frames_pipeline_matches_the_video_pipeline(
        folder, repo_root, tmp_path):
    """Same seed, same clips and augmentation, pictures within JPEG error:
    the frame folder is a drop-in for the video."""
    src, dst, _ = folder
    cfg_v = Config.fromfile(osp.join(repo_root, 'configs', '_base_',
                                     'datasets', 'k400_unlabeled.py'))
    cfg_f = Config.fromfile(osp.join(repo_root, 'configs', '_base_',
                                     'datasets', 'k400_unlabeled_frames.py'))
    assert cfg_f.train_dataloader.dataset.video_backend == 'frames'
    (tmp_path / 'v.txt').write_text(f'{src} 4\n')
    (tmp_path / 'f.txt').write_text(f'{dst} 4\n')
    ds_v = _dataset(tmp_path / 'v.txt', '', cfg_v.train_pipeline, 'decord')
    ds_f = _dataset(tmp_path / 'f.txt', '',
                    cfg_f.train_dataloader.dataset.pipeline, 'frames')
    outs = []
    for ds in (ds_v, ds_f):
        np.random.seed(5)
        outs.append(ds[0])
    a, b = (o['inputs'].numpy() for o in outs)
    assert a.shape == b.shape == (2, 3, 8, 224, 224)
    assert psnr(a, b) > 30.0
    assert int(outs[1]['data_samples'].gt_label) == 4


def test_dataset_skips_a_missing_folder_and_scans_folders(
        folder, repo_root, tmp_path):
    _, dst, _ = folder
    cfg_f = Config.fromfile(osp.join(repo_root, 'configs', '_base_',
                                     'datasets', 'k400_unlabeled_frames.py'))
    pipe = cfg_f.train_dataloader.dataset.pipeline
    (tmp_path / 'f.txt').write_text(f'{dst} 0\n{tmp_path}/gone 1\n')
    ds = _dataset(tmp_path / 'f.txt', '', pipe, 'frames')
    np.random.seed(0)
    for i in range(2):
        assert ds[i]['inputs'].shape == (2, 3, 8, 224, 224)
    assert ds.num_skipped == 1
    assert [p for p, _ in ds.skip_report()] == [f'{tmp_path}/gone']
    # folder scan: frame folders are the items (not their jpg files)
    root = osp.dirname(dst)
    scan = UnlabeledVideoDataset(ann_file='', data_prefix=dict(video=root),
                                 pipeline=[], video_backend='frames')
    assert [scan.get_data_info(i)['filename'] for i in range(len(scan))] \
        == [osp.join(root, 'tai_chi')]


def test_frames_backend_with_decordinit_fails_at_build(folder, tmp_path):
    _, dst, _ = folder
    (tmp_path / 'f.txt').write_text(f'{dst} 0\n')
    with pytest.raises(ValueError, match="video_backend='frames'.*VideoInit"):
        _dataset(tmp_path / 'f.txt', '', [dict(type='DecordInit')], 'frames')


def test_tool_writes_frame_folders_and_the_list(shared_data, tmp_path,
                                                tool_module):
    tool = tool_module('data/prepare_videos')
    lst = tmp_path / 'train_list.txt'
    lst.write_text('edge_cases/realshort.mp4 3\n'
                   'ucf101/v_Basketball_g01_c01.avi 7\n')
    out = tmp_path / 'out'
    rep = tool.main([str(lst), '--root', osp.join(shared_data, 'videos'),
                     '--out-dir', str(out), '--frames', '--short-side', '96',
                     '--workers', '2', '--no-progress'])
    assert (rep['prepared'], rep['failed']) == (2, 0)
    lines = (out / 'train_list.txt').read_text().splitlines()
    assert lines == ['edge_cases/realshort 3',
                     'ucf101/v_Basketball_g01_c01 7']
    for line in lines:
        path = osp.join(out, line.split()[0])
        r = open_reader(path, 'frames')
        assert min(r.read([0]).shape[1:3]) == 96
        src = osp.join(shared_data, 'videos', rep['files'][0]['path'])
        assert osp.exists(src)
    assert len(open_reader(str(out / 'ucf101' / 'v_Basketball_g01_c01'),
                           'frames')) == len(decord.VideoReader(osp.join(
                               shared_data, 'videos', 'ucf101',
                               'v_Basketball_g01_c01.avi')))
