"""Exact frames or a loud refusal; the second decoder (PyAV); check_videos
reporting every file.

Fixtures are made here from a shared clip with the installed libraries
(PyAV encodes; Pillow writes the GIF): an MPEG-4 AVI with B-frames (AVI
stores no presentation timestamps, so seeking guesses them and lands on
other frames), a long-GOP H.264 mp4, AV1 when an encoder exists, a GIF, a
truncated file, a directory and an empty file. Every expectation is a
sequential decode by the same backend (libraries convert to RGB slightly
differently, so a backend is only compared with itself).
"""
import os
import os.path as osp

import numpy as np
import pytest

import mmiivcl  # noqa: F401
from mmaction.registry import TRANSFORMS

from mmiivcl.datasets import UnlabeledVideoDataset
from mmiivcl.datasets.unlabeled_video_dataset import (REASON_DECODE,
                                                      REASON_INEXACT)
from mmiivcl.datasets.video_backends import (open_reader, probe_indices,
                                             verify_seek, verify_seek_primed)

av = pytest.importorskip('av', reason='PyAV (requirements/tests.txt) is '
                         'needed to make the fixtures and for the backend')


def _frames(path: str, num: int):
    with av.open(path) as c:
        out = []
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format='rgb24'))
            if len(out) == num:
                return out
    return out


def encode(path: str, frames, codec: str, fmt: str, gop: int,
           bframes: int = 0, rate: int = 25) -> str:
    with av.open(path, 'w', format=fmt) as out:
        s = out.add_stream(codec, rate=rate)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = 'yuv420p'
        s.codec_context.gop_size = gop
        if bframes:
            s.codec_context.max_b_frames = bframes
        for i, a in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(a, format='rgb24')
            vf.pts = i
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


@pytest.fixture(scope='module')
def made(tmp_path_factory, kinetics_clips):
    """name -> path of the generated files."""
    d = tmp_path_factory.mktemp('made_videos')
    src = next(p for p in kinetics_clips if p.endswith('tai_chi.mp4'))
    frames = _frames(src, 160)
    out = dict(
        no_pts_avi=encode(str(d / 'bframes_no_pts.avi'), frames, 'mpeg4',
                          'avi', gop=30, bframes=3),
        long_gop=encode(str(d / 'long_gop.mp4'), frames, 'libx264', 'mp4',
                        gop=160))
    if 'libsvtav1' in av.codecs_available or 'libaom-av1' in \
            av.codecs_available:
        enc = 'libsvtav1' if 'libsvtav1' in av.codecs_available else \
            'libaom-av1'
        small = [f[:128, :128] for f in frames[:40]]
        out['av1'] = encode(str(d / 'av1.mp4'), small, enc, 'mp4', gop=40)
    from PIL import Image
    imgs = [Image.fromarray(f[::4, ::4]) for f in frames[:30]]
    gif = str(d / 'anim.gif')
    imgs[0].save(gif, save_all=True, append_images=imgs[1:], duration=40,
                 loop=0)
    out['gif'] = gif
    data = open(src, 'rb').read()
    out['truncated'] = str(d / 'truncated.mp4')
    with open(out['truncated'], 'wb') as f:
        f.write(data[:len(data) // 3])
    out['empty'] = str(d / 'empty.mp4')
    open(out['empty'], 'wb').close()
    out['directory'] = str(d / 'a_folder.mp4')
    os.makedirs(out['directory'])
    return out


EXACT_PIPELINE = [
    dict(type='VideoInit'),
    dict(type='SampleClipPair', clip_len=8, frame_interval=8, num_clips=2),
    dict(type='DecordDecodeClips'),
]


def _sequential(path, backend, inds):
    reader = open_reader(path, backend)
    uniq, inverse = np.unique(inds, return_inverse=True)
    return reader.read(uniq.tolist(), sequential=True)[inverse]


def test_inexact_fixture_is_inexact_and_long_gop_is_exact(made):
    reader = open_reader(made['no_pts_avi'], 'decord')
    wrong = verify_seek(reader, made['no_pts_avi'], 8)
    assert wrong is not None and wrong[0] != wrong[1]
    # reference: what random access returns differs from that frame of a
    # sequential decode (the bug the check exists for)
    i = wrong[0]
    got = reader.read([i])[0]
    seq = reader.read(list(range(i + 1)), sequential=True)
    assert not np.array_equal(got, seq[i])
    reader = open_reader(made['long_gop'], 'decord')
    assert verify_seek(reader, made['long_gop'], 8) is None


def test_a_fresh_readers_first_seek_is_what_gets_checked(shared_data,
                                                        tmp_path):
    """misc/cockatoo.mp4: decord's first random access on a freshly opened
    reader returns garbage (every later read, and every seek after a
    sequential pass, is exact). Training opens a fresh reader per sample, so
    the check must probe that first read: the file is found inexact, and
    exact once frame 0 is decoded first, so the dataset reads it that way
    (not from frame 0 on), with the right frames, with and without decord's
    in-decoder resize."""
    import decord
    path = osp.join(shared_data, 'videos', 'misc', 'cockatoo.mp4')
    seq = open_reader(path, 'decord').read(list(range(200)), sequential=True)
    fresh = decord.VideoReader(path, num_threads=1)
    first = fresh.get_batch([100, 150]).asnumpy()
    assert not np.array_equal(first[0], seq[100])  # the bug itself
    warmed = decord.VideoReader(path, num_threads=1)
    warmed.next()  # frame 0 decoded first: the same seek is exact
    np.testing.assert_array_equal(warmed.get_batch([100, 150]).asnumpy(),
                                  seq[[100, 150]])
    wrong = verify_seek(open_reader(path, 'decord'), path, 4)
    assert wrong is not None and wrong[1] != wrong[0]
    assert verify_seek(open_reader(path, 'decord'), path, 4,
                       prime=True) is None
    # the probes depend on the path: whether the sorted read starts before
    # the second key frame (76, then it decodes from frame 0 and seeks
    # exactly after) or after it, the file is found inexact
    first_probes = {}
    for k in range(40):
        link = tmp_path / f'link{k}.mp4'
        os.symlink(path, link)
        first = probe_indices(str(link), 280, 4)[0]
        key = first < 76
        if key not in first_probes:
            first_probes[key] = str(link)
        if len(first_probes) == 2:
            break
    assert set(first_probes) == {True, False}
    for link in first_probes.values():
        assert verify_seek(open_reader(link, 'decord'), link, 4) is not None
        assert verify_seek(open_reader(link, 'decord'), link, 4,
                           prime=True) is None
    lst = tmp_path / 'list.txt'
    lst.write_text(path + '\n')
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=EXACT_PIPELINE)
    past_key = 0
    for seed in range(4):
        np.random.seed(seed)
        out = ds[0]
        past_key += int(out['frame_inds'].min() > 76)  # seeks past frame 76
        ref = _sequential(path, 'decord', out['frame_inds'])
        np.testing.assert_array_equal(np.stack(out['imgs']), ref)
    assert past_key >= 1
    assert ds.read_counts() == {'decord (frame 0 first)': 1}
    # the shipped decode step resizes in the decoder (short side 320): a
    # reopened, fresh reader, primed as well
    resized = EXACT_PIPELINE[:2] + [dict(type='DecordDecodeClips',
                                         short_side=320)]
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=resized)
    np.random.seed(0)
    out = ds[0]
    assert out['decode_resized'] and out['img_shape'] == (320, 569)
    small = decord.VideoReader(path, width=569, height=320, num_threads=1)
    uniq, inverse = np.unique(out['frame_inds'], return_inverse=True)
    seq_small = np.stack([small.next().asnumpy()
                          for _ in range(int(uniq[-1]) + 1)])
    np.testing.assert_array_equal(np.stack(out['imgs']),
                                  seq_small[uniq][inverse])


class _CountingReader:
    """A reader that counts its sequential reads (the costly part)."""

    def __init__(self, reader, counts, log=False):
        self.reader, self.counts, self.log = reader, counts, log

    def __len__(self):
        return len(self.reader)

    def read(self, inds, sequential=False):
        self.counts.append(list(inds) if self.log else bool(sequential))
        return self.reader.read(inds, sequential=sequential)


def test_primed_verdict_takes_one_sequential_decode_and_is_reported(
        shared_data, made, tmp_path, tool_module, capsys, monkeypatch):
    """Both verdicts (plain and frame 0 first) come from one sequential
    decode; check_videos reports the second, and the dataset reads the
    report instead of decoding again."""
    import mmiivcl.datasets.unlabeled_video_dataset as uvd
    cockatoo = osp.join(shared_data, 'videos', 'misc', 'cockatoo.mp4')
    verdicts = {}
    for name, path in (('cockatoo', cockatoo), ('avi', made['no_pts_avi'])):
        counts = []
        wrong, wrong_primed = verify_seek_primed(
            _CountingReader(open_reader(path, 'decord'), counts),
            lambda: _CountingReader(open_reader(path, 'decord'), counts),
            path, 4)
        assert counts.count(True) == 1, (name, counts)
        # the same verdicts as two separate checks, each on a fresh reader
        assert wrong == verify_seek(open_reader(path, 'decord'), path, 4)
        assert wrong_primed == verify_seek(open_reader(path, 'decord'),
                                           path, 4, prime=True)
        verdicts[name] = (wrong, wrong_primed)
    assert verdicts['cockatoo'][0] is not None
    assert verdicts['cockatoo'][1] is None
    assert verdicts['avi'][0] is not None and verdicts['avi'][1] is not None
    # an exact file: fresh readers only for the middle and the last probe
    # as first reads, none primed
    path, reads = made['long_gop'], []
    opened = []

    def reopen():
        opened.append(1)
        return _CountingReader(open_reader(path, 'decord'), reads, log=True)

    assert verify_seek_primed(open_reader(path, 'decord'), reopen, path,
                              4) == (None, None)
    n = len(open_reader(path, 'decord'))
    assert len(opened) == 2 and reads == [[n // 2], [n - 1]]

    folder = tmp_path / 'data'
    folder.mkdir()
    os.symlink(cockatoo, folder / 'cockatoo.mp4')
    os.symlink(made['no_pts_avi'], folder / 'bframes_no_pts.avi')
    summary = tool_module('check_videos').main(
        [str(folder), '--workers', '1', '--out-dir', str(tmp_path / 'o')])
    printed = capsys.readouterr().out
    res = {osp.basename(r['path']): r for r in summary['results']}
    assert res['cockatoo.mp4']['seek'].startswith('inexact seeking')
    assert res['cockatoo.mp4']['seek_primed'] == 'exact'
    assert res['bframes_no_pts.avi']['seek_primed'].startswith(
        'inexact seeking')
    assert summary['num_inexact'] == 2
    assert summary['num_exact_when_primed'] == 1
    assert (f"{folder / 'cockatoo.mp4'}: {res['cockatoo.mp4']['seek']} "
            '(exact once frame 0 is decoded: read that way)'
            ) in printed.splitlines()
    tsv = (tmp_path / 'o' / 'inexact_seek.tsv').read_text().splitlines()
    assert tsv[0] == 'path\tverdict\tframe_0_first'
    assert f"{folder / 'cockatoo.mp4'}\t{res['cockatoo.mp4']['seek']}\texact" \
        in tsv

    def no_check(*args, **kwargs):
        raise AssertionError('checked again although the report says')

    monkeypatch.setattr(uvd, 'verify_seek', no_check)
    monkeypatch.setattr(uvd, 'verify_seek_primed', no_check)
    ds = UnlabeledVideoDataset(
        ann_file='', data_prefix=dict(video=str(folder)),
        pipeline=EXACT_PIPELINE,
        seek_verdicts=str(tmp_path / 'o' / 'check_report.json'))
    modes = {osp.basename(ds.get_data_info(i)['filename']):
             uvd.READ_MODE_NAMES[ds.decide_read_mode(
                 ds.get_data_info(i)['filename'])] for i in range(len(ds))}
    assert modes == {'cockatoo.mp4': 'decord (frame 0 first)',
                     'bframes_no_pts.avi': 'decord (sequential)'}


def test_dataset_never_trains_on_wrong_frames(made, tmp_path):
    lst = tmp_path / 'list.txt'
    lst.write_text(f"{made['no_pts_avi']}\n{made['long_gop']}\n")
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=EXACT_PIPELINE)
    np.random.seed(0)
    for _ in range(3):
        for idx in range(2):
            out = ds[idx]
            path = ds.get_data_info(idx)['filename']
            ref = _sequential(path, 'decord', out['frame_inds'])
            np.testing.assert_array_equal(np.stack(out['imgs']), ref)
    assert ds.read_counts() == {'decord': 1, 'decord (sequential)': 1}
    assert ds.num_skipped == 0
    # skip policy: the inexact file is skipped and counted, never read
    skip = UnlabeledVideoDataset(ann_file=str(lst), pipeline=EXACT_PIPELINE,
                                 inexact_seek='skip')
    for _ in range(4):
        out = skip[0]
        assert out['filename'] == made['long_gop']
    assert int(skip.bad_mask[0]) == REASON_INEXACT
    assert 'inexact seeking: frame' in dict(skip.skip_report())[
        made['no_pts_avi']]
    # mmaction2's DecordDecode is read exactly too (DecordDecodeClips)
    plain = [dict(type='DecordInit'), EXACT_PIPELINE[1],
             dict(type='DecordDecode')]
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=plain)
    out = ds[0]
    ref = _sequential(made['no_pts_avi'], 'decord', out['frame_inds'])
    np.testing.assert_array_equal(np.stack(out['imgs']), ref)
    # a decode step that cannot read sequentially (key frames only): skipped
    plain[2] = dict(type='DecordDecode', mode='efficient')
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=plain)
    assert ds[0]['filename'] == made['long_gop']
    assert int(ds.bad_mask[0]) == REASON_INEXACT


def test_pyav_backend_reads_shared_clips_exactly(kinetics_clips, tmp_path):
    """Every shared Kinetics clip through the dataset with backend pyav:
    the frames are those of PyAV's own sequential decode (a file whose
    PyAV seek is inexact is read sequentially)."""
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join(kinetics_clips) + '\n')
    pipe = [dict(type='VideoInit', backend='pyav')] + EXACT_PIPELINE[1:]
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=pipe,
                               video_backend='pyav')
    np.random.seed(1)
    for idx in range(len(ds)):
        out = ds[idx]
        assert out['video_backend'] == 'pyav'
        ref = _sequential(out['filename'], 'pyav', out['frame_inds'])
        np.testing.assert_array_equal(np.stack(out['imgs']), ref)
    counts = ds.read_counts()
    assert sum(counts.values()) == len(kinetics_clips)
    assert set(counts) <= {'pyav', 'pyav (sequential)'}


def test_fallback_backend_opens_what_decord_cannot(made, tmp_path,
                                                   kinetics_clips):
    others = [made['gif']] + ([made['av1']] if 'av1' in made else [])
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join([kinetics_clips[0]] + others) + '\n')
    pipe = [dict(type='VideoInit'),
            dict(type='SampleClipPair', clip_len=4, frame_interval=2),
            dict(type='DecordDecodeClips')]
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=pipe,
                               fallback_backend='pyav')
    np.random.seed(2)
    for idx in range(len(ds)):
        out = ds[idx]
        assert out['filename'] == ds.get_data_info(idx)['filename']
        want = 'decord' if idx == 0 else 'pyav'
        assert out['video_backend'] == want
        ref = _sequential(out['filename'], want, out['frame_inds'])
        np.testing.assert_array_equal(np.stack(out['imgs']), ref)
    counts = ds.read_counts()
    assert counts.get('decord') == 1
    assert counts.get('pyav', 0) + counts.get('pyav (sequential)', 0) == \
        len(others)
    # without the fallback: skipped and counted, the reason says why
    ds = UnlabeledVideoDataset(ann_file=str(lst), pipeline=pipe)
    for _ in range(6):
        assert ds[1]['filename'] == kinetics_clips[0]
    report = dict(ds.skip_report())
    assert int(ds.bad_mask[1]) == REASON_DECODE
    assert 'codec gif is not supported by decord' in report[made['gif']]
    if 'av1' in made:
        assert 'codec av1 is not supported by decord' in report[made['av1']]


def test_check_videos_reports_every_file(made, tmp_path, tool_module,
                                         kinetics_clips, capsys,
                                         monkeypatch):
    tool = tool_module('check_videos')
    folder = tmp_path / 'data'
    folder.mkdir()
    for name in ('no_pts_avi', 'long_gop', 'gif', 'truncated', 'empty'):
        os.symlink(made[name], folder / osp.basename(made[name]))
    os.symlink(kinetics_clips[0], folder / 'clip.mp4')
    (folder / 'notes.txt').write_text('x')
    (folder / 'weird.xyz').write_text('x')
    monkeypatch.chdir(tmp_path)  # outputs default to the current directory
    summary = tool.main([str(folder), '--workers', '1'])
    printed = capsys.readouterr().out
    assert osp.isfile(tmp_path / 'clean_list.txt')
    assert not osp.exists(folder / 'clean_list.txt')  # never the data dir
    assert summary['num_videos'] == 6  # .gif scanned by default
    assert summary['unchecked'] == {'.txt': ['notes.txt'],
                                    '.xyz': ['weird.xyz']}
    assert '.txt: 1 file(s)' in printed and '.xyz: 1 file(s)' in printed
    res = {osp.basename(r['path']): r for r in summary['results']}
    assert res['anim.gif']['reason'].startswith(
        'cannot open: codec gif is not supported by decord')
    assert res['empty.mp4']['reason'] == 'empty file (0 bytes)'
    assert not res['truncated.mp4']['ok']
    assert res['clip.mp4']['ok'] and res['clip.mp4']['seek'] == 'exact'
    assert res['long_gop.mp4']['seek'] == 'exact'
    inexact = res['bframes_no_pts.avi']
    assert inexact['ok'] and inexact['seek'].startswith(
        'inexact seeking: frame ')
    line = (f"{folder / 'bframes_no_pts.avi'}: {inexact['seek']}")
    assert line in printed.splitlines()
    assert 're-encode' in printed and 'sequential' in printed
    # the dataset reuses the verdicts instead of checking again
    ds = UnlabeledVideoDataset(
        ann_file='', data_prefix=dict(video=str(folder)),
        pipeline=EXACT_PIPELINE,
        seek_verdicts=str(tmp_path / 'check_report.json'))
    ds.full_init()
    verdicts = ds._seek_verdicts
    assert verdicts[str(folder / 'bframes_no_pts.avi')][1] == inexact['seek']
    # with the fallback, the GIF is read by PyAV
    summary = tool.main([str(folder), '--workers', '1', '--out-dir',
                         str(tmp_path / 'fb'), '--fallback-backend', 'pyav',
                         '--seek-check', '0'])
    res = {osp.basename(r['path']): r for r in summary['results']}
    assert res['anim.gif']['ok'] and res['anim.gif']['backend'] == 'pyav'
    assert summary['read_by'] == {'decord': 3, 'pyav': 1}


def test_check_videos_list_entries_and_flags(made, tmp_path, tool_module,
                                             kinetics_clips):
    tool = tool_module('check_videos')
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join([made['directory'], made['empty'],
                              str(tmp_path / 'missing.mp4'),
                              kinetics_clips[0]]) + '\n')
    summary = tool.main([str(lst), '--out-dir', str(tmp_path / 'o'),
                         '--workers', '1', '--seek-check', '0'])
    reasons = [r['reason'] for r in summary['results']]
    assert reasons == ['is a directory, not a video file',
                       'empty file (0 bytes)', 'missing file', None]
    assert summary['exit_code'] == 0  # without --fail-on-bad
    summary = tool.main([str(lst), '--out-dir', str(tmp_path / 'o'),
                         '--workers', '1', '--seek-check', '0',
                         '--fail-on-bad'])
    assert summary['exit_code'] == 1
    with pytest.raises(SystemExit) as exc:  # no abbreviations
        tool.main([str(lst), '--fail-on'])
    assert exc.value.code == 2
    empty = tmp_path / 'empty_list.txt'
    empty.write_text('# nothing here\n')
    assert tool.main([str(empty), '--out-dir', str(tmp_path / 'o')]
                     )['exit_code'] == 2
