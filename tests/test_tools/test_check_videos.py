"""docs/troubleshooting.md, section 3: tools/check_videos.py, the parallel
pre-flight.

Over a list file (relative paths, labels, a comment) and over a folder: the
clean list keeps exactly the usable lines (labels kept, order kept), the
report names every unusable file with its reason, a hanging decode is killed
after ``--timeout``, and a progress bar is shown.
"""
import os
import os.path as osp
import time

import pytest


@pytest.fixture
def hanging_decord(monkeypatch):
    import decord
    original = decord.VideoReader

    def reader(path, *a, **k):
        if 'hang' in osp.basename(str(path)):
            time.sleep(3600)
        return original(path, *a, **k)

    monkeypatch.setattr(decord, 'VideoReader', reader)


EXPECTED_REASON = dict(
    corrupted='does not decode', empty='empty file (0 bytes)',
    missing='missing file', gif='cannot open', av1='cannot open',
    three_frames='only 3 frame(s)', four_frames='only 4 frame(s)',
    hang='timed out')


@pytest.mark.timeout(120)
def test_list_file_preflight(tmp_path, repo_root, tool_module, shared_data,
                             good_videos, bad_videos, hanging_decord, capsys):
    tool = tool_module('check_videos')
    root = osp.join(shared_data, 'videos')
    lines, good_lines = ['# my training list'], []
    for i, (g, (name, (b, _))) in enumerate(zip(good_videos,
                                                bad_videos.items())):
        rel = osp.relpath(g, root)
        lines += [f'{rel} {i}', f'{b} {i}']  # bad ones: absolute paths
        good_lines.append(f'{rel} {i}')
    lst = tmp_path / 'train_list.txt'
    lst.write_text('\n'.join(lines) + '\n')
    out = tmp_path / 'checked'
    t0 = time.time()
    summary = tool.main([str(lst), '--root', root, '--out-dir', str(out),
                         '--workers', '2', '--timeout', '6'])
    assert time.time() - t0 < 60  # the hang was killed, not waited for
    assert summary['num_videos'] == 16
    assert summary['num_ok'] == 8 and summary['num_bad'] == 8
    assert (out / 'clean_list.txt').read_text().splitlines() == good_lines
    rows = (out / 'bad_videos.tsv').read_text().splitlines()
    assert rows[0] == 'path\treason'
    report = dict(r.split('\t', 1) for r in rows[1:])
    for name, (path, _) in bad_videos.items():
        assert EXPECTED_REASON[name] in report[path], (name, report[path])
    assert osp.isfile(out / 'check_report.json')
    printed = capsys.readouterr().out
    assert '16/16' in printed  # mmengine ProgressBar
    assert 'BAD' in printed and '8 unusable of 16' in printed


@pytest.mark.timeout(60)
def test_folder_preflight(tmp_path, repo_root, tool_module, good_videos,
                          bad_videos):
    tool = tool_module('check_videos')
    folder = tmp_path / 'videos'
    (folder / 'a').mkdir(parents=True)
    links = {'a/good1.mp4': good_videos[0], 'good2.avi': good_videos[4],
             'a/broken.mp4': bad_videos['corrupted'][0],
             'empty.mp4': bad_videos['empty'][0],
             'notes.txt': good_videos[0]}  # not a video extension
    for name, target in links.items():
        os.symlink(target, folder / name)
    summary = tool.main([str(folder), '--workers', '2',
                         '--out-dir', str(tmp_path / 'out')])
    assert summary['num_videos'] == 4
    clean = (tmp_path / 'out' / 'clean_list.txt').read_text().splitlines()
    assert clean == ['a/good1.mp4', 'good2.avi']  # relative to the folder
