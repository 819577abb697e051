"""tools/data/prepare_videos.py and mmiivcl.utils.transcode: re-encoded
videos keep every frame, cap the short side without enlarging, put a key
frame exactly every ``gop`` frames, drop audio, and the tool keeps the list's
labels, records failures and resumes."""
import os.path as osp

import av
import cv2
import decord
import numpy as np
import pytest

from mmiivcl.utils.transcode import capped_size, transcode_video


@pytest.mark.parametrize('w,h,cap,expect', [
    (1280, 720, 320, (568, 320)),   # 1280 * 320 / 720 = 568.9 -> even 568
    (720, 1280, 320, (320, 568)),   # portrait
    (340, 256, 320, (340, 256)),    # below the cap: unchanged
    (427, 241, None, (426, 240)),   # no cap: odd sides rounded down to even
    (640, 640, 321, (320, 320)),    # odd cap: even, never above the cap
])
def test_capped_size(w, h, cap, expect):
    out = capped_size(w, h, cap)
    assert out == expect
    assert min(out) <= (cap or min(w, h)) and all(x % 2 == 0 for x in out)


def _frames(path):
    vr = decord.VideoReader(path)
    return vr, vr.get_batch(list(range(len(vr)))).asnumpy()


def test_transcode_caps_keeps_frames_keyframes_and_drops_audio(
        shared_data, tmp_path):
    src = osp.join(shared_data, 'videos', 'misc', 'fire2.mp4')  # 720p, audio
    with av.open(src) as c:
        assert len(c.streams.audio) >= 1  # the source has audio
    dst = str(tmp_path / 'fire2.mp4')
    info = transcode_video(src, dst, short_side=160, gop=4, crf=18)
    vr0, orig = _frames(src)
    vr1, new = _frames(dst)
    assert len(vr1) == len(vr0) == info['frames']
    assert new.shape[1:3] == (160, 284)  # 1280 * 160 / 720 = 284.4
    assert list(vr1.get_key_indices()) == list(range(0, len(vr1), 4))
    with av.open(dst) as c:
        assert len(c.streams.audio) == 0 and len(c.streams.video) == 1
    # same pictures: against an independent resize of the decoded source
    ref = np.stack([cv2.resize(f, (284, 160), interpolation=cv2.INTER_AREA)
                    for f in orig])
    assert np.abs(ref.astype(np.int16) - new).mean() < 6.0
    assert not osp.exists(dst + '.part')


def test_transcode_never_enlarges_and_all_intra(shared_data, tmp_path):
    src = osp.join(shared_data, 'videos', 'edge_cases',
                   'carphone_distorted.mp4')  # 176x144
    dst = str(tmp_path / 'c.mkv')
    info = transcode_video(src, dst, short_side=320, gop=1)
    vr = decord.VideoReader(dst)
    assert vr[0].shape == (144, 176, 3) and info['size'] == (176, 144)
    assert list(vr.get_key_indices()) == list(range(len(vr)))


def test_tool_keeps_labels_records_failures_and_resumes(
        shared_data, tmp_path, tool_module):
    tool = tool_module('data/prepare_videos')
    lst = tmp_path / 'train_list.txt'
    lst.write_text('edge_cases/realshort.mp4 3\n'
                   'ucf101/v_Basketball_g01_c01.avi 7\n'
                   'edge_cases/corrupted.mp4 1\n')
    out = tmp_path / 'out'
    argv = [str(lst), '--root', osp.join(shared_data, 'videos'),
            '--out-dir', str(out), '--short-side', '128', '--workers', '2',
            '--no-progress']
    rep = tool.main(argv)
    assert (rep['prepared'], rep['failed']) == (2, 1)
    lines = (out / 'train_list.txt').read_text().splitlines()
    assert lines == ['edge_cases/realshort.mp4 3',
                     'ucf101/v_Basketball_g01_c01.mp4 7']  # .avi -> .mp4
    failed = (out / 'failed.tsv').read_text()
    assert 'corrupted.mp4\t' in failed and failed.count('\n') == 1
    for line in lines:
        path = out / line.split()[0]
        src = osp.join(shared_data, 'videos', line.split()[0]).replace(
            '.mp4', '.avi') if 'ucf101' in line else osp.join(
            shared_data, 'videos', line.split()[0])
        assert len(decord.VideoReader(str(path))) == \
            len(decord.VideoReader(src))
        assert min(decord.VideoReader(str(path))[0].shape[:2]) == 128
    mtime = (out / lines[0].split()[0]).stat().st_mtime_ns
    rep2 = tool.main(argv)  # resumed: nothing re-encoded
    assert (rep2['prepared'], rep2['skipped_existing']) == (0, 2)
    assert (out / lines[0].split()[0]).stat().st_mtime_ns == mtime


def test_transcode_bakes_in_the_rotation_decord_applies(shared_data,
                                                         tmp_path):
    src = osp.join(shared_data, 'videos', 'edge_cases', 'video_90.mov')
    dst = str(tmp_path / 'r.mp4')
    info = transcode_video(src, dst, short_side=None, gop=1, crf=12)
    _, orig = _frames(src)   # decord shows it turned (display matrix)
    _, new = _frames(dst)
    assert info['rotation'] % 2 == 1 and new.shape == orig.shape
    assert np.abs(orig.astype(np.int16) - new).mean() < 4.0
