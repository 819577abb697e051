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
* ``<out>/inexact_seek.tsv``: ``path<TAB>verdict`` for every file whose
  random access returns other frames than a sequential decode (``--seek-check``
  random frames per file are compared); such files stay in the clean list
  (the dataset reads them sequentially by default, ``inexact_seek``), but
  each is printed as ``<path>: inexact seeking: frame i returned frame j``
  with the remedy; a decord file that seeks exactly once frame 0 is decoded
  (``seek_primed``) is marked, as the dataset reads it that way at the cost
  of one extra frame instead of from frame 0;
* ``<out>/check_report.json``: counts, arguments, the files a folder scan did
  not check (by extension) and the per-file results (``seek`` verdicts that
  ``UnlabeledVideoDataset(seek_verdicts=...)`` can load).

Outputs go to ``--out-dir``, by default the current directory (never into the
data folder). Folder mode lists every file it does not check, by extension.

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
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from mmengine.utils import ProgressBar  # noqa: E402

from mmiivcl.datasets.unlabeled_video_dataset import (  # noqa: E402
    VIDEO_EXTENSIONS, probe_video)
from mmiivcl.datasets.video_list import read_entries  # noqa: E402
from mmiivcl.datasets.video_backends import (  # noqa: E402
    BACKENDS, REENCODE)
from mmiivcl.utils.killable import run_pool  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description='Find unreadable videos before training.',
        allow_abbrev=False)  # "--fail-on" must not pass for --fail-on-bad
    p.add_argument('source', help='list file ("path [label]" per line) or a '
                   'folder scanned recursively')
    p.add_argument('--root', default='', help='prefix of relative list paths '
                   "(the dataset's data_prefix['video'])")
    p.add_argument('--out-dir', default='.',
                   help='where to write the outputs (default: the current '
                   'directory; never the data folder unless asked)')
    p.add_argument('--workers', type=int,
                   default=min(4, os.cpu_count() or 1),
                   help='checking processes (min(4, CPU count))')
    p.add_argument('--timeout', type=float, default=60.0,
                   help='seconds per video before its process is killed')
    p.add_argument('--min-frames', type=int, default=8,
                   help='fewest frames a usable video has (as the sampler)')
    p.add_argument('--num-probe', type=int, default=4,
                   help='frames decoded per video, first and last included')
    p.add_argument('--seek-check', type=int, default=4,
                   help='random frames per video compared with a sequential '
                   'decode (0: no seek check)')
    p.add_argument('--backend', default='decord', choices=BACKENDS,
                   help='decoder the training pipeline uses')
    p.add_argument('--fallback-backend', default=None, choices=BACKENDS,
                   help='decoder tried when --backend cannot open a file '
                   "(the dataset's fallback_backend)")
    p.add_argument('--extensions', nargs='+', default=list(VIDEO_EXTENSIONS),
                   help='extensions for a folder scan (default includes '
                   '.gif and .webm)')
    p.add_argument('--fail-on-bad', action='store_true',
                   help='exit with status 1 when a video is unusable')
    return p.parse_args(argv)


def check_videos(entries: List[Tuple[str, str]], workers: int = 2,
                 timeout: Optional[float] = 60.0, min_frames: int = 8,
                 num_probe: int = 4, progress: bool = True,
                 backend: str = 'decord',
                 fallback_backend: Optional[str] = None,
                 seek_check: int = 4) -> List[dict]:
    """Probe every ``(path, line)``; returns one result dict per entry with
    ``path``, ``line``, ``ok``, ``reason``, ``num_frames``, ``backend``,
    ``seek`` (see :func:`probe_video`)."""
    jobs = [(p, min_frames, num_probe, backend, fallback_backend, seek_check)
            for p, _ in entries]
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
            rec = dict(ok=False, num_frames=-1, backend=None, seek=None,
                       reason=f'decode timed out after {timeout:g} s '
                       '(process killed)')
        else:
            rec = dict(ok=False, num_frames=-1, backend=None, seek=None,
                       reason=f'checker failed: {type(value).__name__}: '
                       f'{value}')
        rec.update(path=path, line=line)
        out.append(rec)
    return out


def is_inexact(rec: dict) -> bool:
    return bool(rec.get('seek')) and rec['seek'] != 'exact'


def exact_when_primed(rec: dict) -> bool:
    """Inexact, but exact once frame 0 is decoded first."""
    return is_inexact(rec) and rec.get('seek_primed') == 'exact'


def write_outputs(results: List[dict], out_dir: str, args: dict,
                  unchecked: Optional[Dict[str, List[str]]] = None) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    clean = osp.join(out_dir, 'clean_list.txt')
    bad = osp.join(out_dir, 'bad_videos.tsv')
    inexact = osp.join(out_dir, 'inexact_seek.tsv')
    with open(clean, 'w', encoding='utf-8') as f:
        f.writelines(r['line'] + '\n' for r in results if r['ok'])
    with open(bad, 'w', encoding='utf-8') as f:
        f.write('path\treason\n')
        f.writelines(f'{r["path"]}\t{r["reason"]}\n'
                     for r in results if not r['ok'])
    with open(inexact, 'w', encoding='utf-8') as f:
        f.write('path\tverdict\tframe_0_first\n')
        f.writelines(f'{r["path"]}\t{r["seek"]}\t'
                     f'{r.get("seek_primed") or "unchecked"}\n'
                     for r in results if r['ok'] and is_inexact(r))
    by_backend: Dict[str, int] = {}
    for r in results:
        if r['ok']:
            by_backend[r['backend']] = by_backend.get(r['backend'], 0) + 1
    summary = dict(num_videos=len(results),
                   num_ok=sum(r['ok'] for r in results),
                   num_bad=sum(not r['ok'] for r in results),
                   num_inexact=sum(r['ok'] and is_inexact(r)
                                   for r in results),
                   num_exact_when_primed=sum(r['ok'] and exact_when_primed(r)
                                             for r in results),
                   read_by=by_backend,
                   num_unchecked=sum(len(v) for v in (unchecked or {}
                                                      ).values()),
                   unchecked=unchecked or {},
                   clean_list=clean, bad_list=bad, inexact_list=inexact,
                   args=args)
    with open(osp.join(out_dir, 'check_report.json'), 'w') as f:
        json.dump(dict(summary, results=results), f, indent=1)
    return summary


def main(argv=None) -> dict:
    """Check the videos; returns the summary (``exit_code`` included)."""
    args = parse_args(argv)
    unchecked: Dict[str, List[str]] = {}
    entries = read_entries(args.source, args.root, args.extensions,
                           unchecked)
    if not entries:
        what = ('the folder has no file with an extension in --extensions '
                f'({" ".join(args.extensions)})' if osp.isdir(args.source)
                else 'the list names no video')
        print(f'[check_videos] error: nothing to check in {args.source}: '
              f'{what}', file=sys.stderr)
        for ext, files in sorted(unchecked.items()):
            print(f'  not checked: {len(files)} {ext} file(s)',
                  file=sys.stderr)
        return dict(num_videos=0, num_ok=0, num_bad=0, exit_code=2,
                    unchecked=unchecked)
    t0 = time.time()
    results = check_videos(entries, args.workers, args.timeout,
                           args.min_frames, args.num_probe,
                           backend=args.backend,
                           fallback_backend=args.fallback_backend,
                           seek_check=args.seek_check)
    summary = write_outputs(results, args.out_dir, vars(args), unchecked)
    summary['results'] = results
    print(f'[check_videos] {summary["num_ok"]} usable, {summary["num_bad"]} '
          f'unusable of {summary["num_videos"]} in {time.time() - t0:.1f} s'
          f' (read by: {summary["read_by"]})'
          f'\n  clean list: {summary["clean_list"]}\n  bad videos: '
          f'{summary["bad_list"]}')
    for r in results:
        if not r['ok']:
            print(f'  BAD {r["path"]}: {r["reason"]}')
    inexact = [r for r in results if r['ok'] and is_inexact(r)]
    for r in inexact:
        print(f'{r["path"]}: {r["seek"]}' + (
            ' (exact once frame 0 is decoded: read that way)'
            if exact_when_primed(r) else ''))
    primed = summary['num_exact_when_primed']
    if inexact:
        print(f'  {len(inexact)} file(s) seek inexactly with '
              f'{args.backend}' + (
                  f', {primed} of them exactly once frame 0 is decoded '
                  '(training decodes frame 0 first, one extra frame)'
                  if primed else '') +
              f': training reads {"the others" if primed else "them"} '
              'sequentially '
              "(UnlabeledVideoDataset inexact_seek='sequential', the "
              "default; 'skip' drops and counts them), or re-encode each "
              f'with `{REENCODE}`; list: {summary["inexact_list"]}')
    if unchecked:
        print(f'  not checked (extension not in --extensions): '
              f'{summary["num_unchecked"]} file(s)')
        for ext, files in sorted(unchecked.items()):
            print(f'    {ext}: {len(files)} file(s), e.g. {files[0]}')
    summary['exit_code'] = 1 if summary['num_bad'] and args.fail_on_bad \
        else 0
    return summary


if __name__ == '__main__':
    sys.exit(main()['exit_code'])
