"""Compare the video backends on real files: which open, which seek exactly,
and CPU ms per training sample.

For every file and backend: opened or not (the error in a word), the seek
verdict of :func:`~mmiivcl.datasets.video_backends.verify_seek` (random
access against the same backend's sequential decode), and, for files with at
least 57 frames, the median time of reading one IIVCL sample (2 clips x 8
frames at stride 8, starts drawn with a fixed seed, one sorted read, one
thread) over ``--repeats`` samples. Prints a Markdown table (docs/data.md).

Example::

    OMP_NUM_THREADS=1 python tools/compare_decoders.py \\
        ../shared/data/videos --repeats 5
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import numpy as np  # noqa: E402

from mmiivcl.datasets.transforms.sample_clip_pair import (  # noqa: E402
    SampleClipPair)
from mmiivcl.datasets.unlabeled_video_dataset import (  # noqa: E402
    VIDEO_EXTENSIONS, _short)
from mmiivcl.datasets.video_backends import (  # noqa: E402
    BACKENDS, backend_available, open_reader, verify_seek)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], allow_abbrev=False,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('folder', help='folder of videos (scanned recursively)')
    p.add_argument('--backends', nargs='+', default=list(BACKENDS),
                   choices=BACKENDS, help='decoders to compare')
    p.add_argument('--repeats', type=int, default=5,
                   help='samples timed per file (median reported)')
    p.add_argument('--seek-check', type=int, default=8,
                   help='frames compared per file for the seek verdict')
    p.add_argument('--median-over', default='',
                   help='sub-folder whose files the median ms is taken over '
                   '(e.g. kinetics)')
    return p.parse_args(argv)


def files_in(folder: str):
    out = []
    for dirpath, dirnames, files in os.walk(folder):
        dirnames.sort()
        for f in sorted(files):
            if osp.splitext(f)[1].lower() in VIDEO_EXTENSIONS:
                out.append(osp.join(dirpath, f))
    return out


def time_samples(path: str, backend: str, repeats: int,
                 sequential: bool = False) -> float:
    """Median ms of open + one sorted read of a 2 x 8 @ 8 sample (the read
    the dataset does: seeking, or sequential for a file that seeks
    inexactly)."""
    sampler = SampleClipPair(clip_len=8, frame_interval=8, num_clips=2)
    rng_state = np.random.get_state()
    np.random.seed(0)
    times = []
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            reader = open_reader(path, backend)
            inds = sampler(dict(total_frames=len(reader)))['frame_inds']
            reader.read(np.unique(inds).tolist(), sequential=sequential)
            del reader
            times.append(1000 * (time.perf_counter() - t0))
    finally:
        np.random.set_state(rng_state)
    return statistics.median(times)


def main(argv=None) -> dict:
    args = parse_args(argv)
    rows = {}
    for path in files_in(args.folder):
        rel = osp.relpath(path, args.folder)
        for b in args.backends:
            if not backend_available(b):
                rows[(rel, b)] = ('not installed', '', '')
                continue
            try:
                reader = open_reader(path, b)
            except Exception as exc:  # noqa: BLE001
                rows[(rel, b)] = ('no: ' + _short(exc, 60), '', '')
                continue
            n = len(reader)
            try:
                wrong = verify_seek(reader, path, args.seek_check) \
                    if n >= 2 else None
                verdict = 'exact' if wrong is None else \
                    f'frame {wrong[0]} -> {wrong[1]}'
            except Exception as exc:  # noqa: BLE001
                verdict = 'error: ' + _short(exc, 60)
            del reader
            ms = ''
            if n >= 57 and args.repeats and not verdict.startswith('error'):
                seq = verdict != 'exact'
                ms = f'{time_samples(path, b, args.repeats, seq):.1f}' + (
                    ' (sequential)' if seq else '')
            rows[(rel, b)] = (f'yes ({n} fr)', verdict, ms)
    names = sorted({r for r, _ in rows})
    head = '| file | ' + ' | '.join(
        f'{b} opens | {b} seek | {b} ms/sample' for b in args.backends)
    print(head + ' |')
    print('|---' * (1 + 3 * len(args.backends)) + '|')
    for name in names:
        cells = []
        for b in args.backends:
            cells += list(rows.get((name, b), ('', '', '')))
        print(f'| {name} | ' + ' | '.join(cells) + ' |')
    timed = [n for n in names if n.startswith(args.median_over)]
    for b in args.backends:
        ms = [float(rows[(n, b)][2].split()[0]) for n in timed
              if rows.get((n, b), ('', '', ''))[2]]
        opened = sum(rows.get((n, b), ('',))[0].startswith('yes')
                     for n in names)
        exact = sum(rows.get((n, b), ('', ''))[1] == 'exact' for n in names)
        print(f'{b}: opened {opened}/{len(names)}, exact seek {exact}, '
              f'median ms/sample {statistics.median(ms) if ms else "-"}'
              f' over {len(ms)} files under {args.median_over or "."}')
    return rows


if __name__ == '__main__':
    main()
