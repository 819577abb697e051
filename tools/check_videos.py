"""Pre-flight check of a video list or folder before a long pretraining run.

Every video is opened with decord and a few frames spread from the first to
the *last* are decoded (containers can over-report their frame count and files
can break late), in parallel helper processes that are killed when a file
takes longer than ``--timeout`` (a hung decode cannot stop a run that was
checked first). Writes

* ``<out>/clean_list.txt``: the input lines of the usable videos (labels and
  relative paths kept), ready for ``UnlabeledVideoDataset(ann_file=...)``;
* ``<out>/bad_videos.tsv``: ``path<TAB>reason`` for every unusable video
  (missing, 0 bytes, cannot open / unsupported codec such as AV1 or GIF,
  fewer than ``--min-frames`` frames, a frame that does not decode, timeout);
* ``<out>/check_report.json``: counts, arguments and the per-file results.

Examples::

    python tools/check_videos.py data/k400/train_list.txt \\
        --root data/k400/videos --workers 8 --out-dir data/k400/checked
    python tools/check_videos.py data/my_videos/   # a folder, recursively
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import List, Optional, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from mmengine.utils import ProgressBar  # noqa: E402

from mmiivcl.datasets.unlabeled_video_dataset import (  # noqa: E402
    VIDEO_EXTENSIONS, probe_video)
from mmiivcl.utils.killable import run_pool  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description='Find unreadable videos before training.')
    p.add_argument('source', help='list file ("path [label]" per line) or a '
                   'folder scanned recursively')
    p.add_argument('--root', default='', help='prefix of relative list paths '
                   "(the dataset's data_prefix['video'])")
    p.add_argument('--out-dir', default=None,
                   help='where to write the outputs (None: the list '
                   'file\'s folder, or the scanned folder)')
    p.add_argument('--workers', type=int,
                   default=min(4, os.cpu_count() or 1),
                   help='checking processes (min(4, CPU count))')
    p.add_argument('--timeout', type=float, default=60.0,
                   help='seconds per video before its process is killed')
    p.add_argument('--min-frames', type=int, default=8,
                   help='fewest frames a usable video has (as the sampler)')
    p.add_argument('--num-probe', type=int, default=4,
                   help='frames decoded per video, first and last included')
    p.add_argument('--extensions', nargs='+', default=list(VIDEO_EXTENSIONS),
                   help='extensions for a folder scan')
    p.add_argument('--fail-on-bad', action='store_true',
                   help='exit with status 1 when a video is unusable')
    return p.parse_args(argv)


def read_entries(source: str, root: str = '',
                 extensions=VIDEO_EXTENSIONS) -> List[Tuple[str, str]]:
    """``(full path, original line)`` for a list file or a folder scan."""
    if osp.isdir(source):
        exts = tuple(e.lower() for e in extensions)
        out = []
        for dirpath, dirnames, files in os.walk(source, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for f in sorted(files):
                if not f.startswith('.') and \
                        osp.splitext(f)[1].lower() in exts:
                    full = osp.join(dirpath, f)
                    out.append((full, osp.relpath(full, source)))
        return sorted(out, key=lambda e: e[1])  # as UnlabeledVideoDataset
    if not osp.isfile(source):
        raise FileNotFoundError(f'{source}: neither a list file nor a folder')
    out = []
    with open(source, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            text = line.strip()
            if not text or text.startswith('#'):
                continue
            parts = text.split()
            if len(parts) > 1:
                try:
                    int(parts[-1])
                    parts = parts[:-1]
                except ValueError:
                    pass
            path = ' '.join(parts)
            out.append((osp.join(root, path) if root else path, text))
    return out


def check_videos(entries: List[Tuple[str, str]], workers: int = 2,
                 timeout: Optional[float] = 60.0, min_frames: int = 8,
                 num_probe: int = 4, progress: bool = True) -> List[dict]:
    """Probe every ``(path, line)``; returns one result dict per entry with
    ``path``, ``line``, ``ok``, ``reason``, ``num_frames``."""
    jobs = [(p, min_frames, num_probe) for p, _ in entries]
    bar = ProgressBar(len(jobs), file=sys.stdout) if progress and jobs \
        else None

    def tick(j, status, value):
        if bar is not None:
            bar.update()

    results = run_pool(probe_video, jobs, workers, timeout, on_result=tick)
    if bar is not None:
        sys.stdout.write('\n')
    out = []
    for (path, line), (status, value) in zip(entries, results):
        if status == 'ok':
            rec = dict(value)
        elif status == 'timeout':
            rec = dict(ok=False, num_frames=-1,
                       reason=f'decode timed out after {timeout:g} s '
                       '(process killed)')
        else:
            rec = dict(ok=False, num_frames=-1,
                       reason=f'checker failed: {type(value).__name__}: '
                       f'{value}')
        rec.update(path=path, line=line)
        out.append(rec)
    return out


def write_outputs(results: List[dict], out_dir: str, args: dict) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    clean = osp.join(out_dir, 'clean_list.txt')
    bad = osp.join(out_dir, 'bad_videos.tsv')
    with open(clean, 'w', encoding='utf-8') as f:
        f.writelines(r['line'] + '\n' for r in results if r['ok'])
    with open(bad, 'w', encoding='utf-8') as f:
        f.write('path\treason\n')
        f.writelines(f'{r["path"]}\t{r["reason"]}\n'
                     for r in results if not r['ok'])
    summary = dict(num_videos=len(results),
                   num_ok=sum(r['ok'] for r in results),
                   num_bad=sum(not r['ok'] for r in results),
                   clean_list=clean, bad_list=bad, args=args)
    with open(osp.join(out_dir, 'check_report.json'), 'w') as f:
        json.dump(dict(summary, results=results), f, indent=1)
    return summary


def main(argv=None) -> dict:
    args = parse_args(argv)
    entries = read_entries(args.source, args.root, args.extensions)
    out_dir = args.out_dir or (args.source if osp.isdir(args.source) else
                               osp.dirname(osp.abspath(args.source)))
    t0 = time.time()
    results = check_videos(entries, args.workers, args.timeout,
                           args.min_frames, args.num_probe)
    summary = write_outputs(results, out_dir, vars(args))
    print(f'[check_videos] {summary["num_ok"]} usable, {summary["num_bad"]} '
          f'unusable of {summary["num_videos"]} in {time.time() - t0:.1f} s'
          f'\n  clean list: {summary["clean_list"]}\n  bad videos: '
          f'{summary["bad_list"]}')
    for r in results:
        if not r['ok']:
            print(f'  BAD {r["path"]}: {r["reason"]}')
    return summary


if __name__ == '__main__':
    s = main()
    sys.exit(1 if s['num_bad'] and '--fail-on-bad' in sys.argv else 0)
