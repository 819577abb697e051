"""Rewrite a video list or folder for fast random clip access (pretraining).

Each video is re-encoded with FFmpeg's libx264 through PyAV
(``mmiivcl.utils.transcode``; ``pip install av``, no ffmpeg binary needed):
the short side capped (``--short-side``, never enlarged), a key frame every
``--gop`` frames (1 = all-intra) and no B-frames, so a clip anywhere in the
video decodes at most ``--gop`` extra frames; audio and other streams
dropped; every frame kept (frame indices keep their meaning). Helper
processes run in parallel (a file that hangs is killed after ``--timeout``),
with a progress bar; a rerun skips the videos already written (outputs are
renamed into place only when complete), so an interrupted run resumes.

With ``--frames`` every video becomes a folder of JPEG frames instead
(``img_00001.jpg``, ... as mmaction2's rawframes, plus ``frames.json``),
the cheapest storage to decode (about 10x the bytes of the Kinetics
originals at quality 90); train on it with the dataset's
``video_backend='frames'`` and ``VideoInit`` (``configs/_base_/datasets/
k400_unlabeled_frames.py``).

Writes, under ``--out-dir``:

* the videos at the same relative paths (``.avi``/``.webm``/... become
  ``.mp4``; ``.mp4``/``.mkv``/``.mov`` keep their name), or with
  ``--frames`` one frame folder per video at the path without extension;
* ``<list name>`` (or ``list.txt`` for a folder): the input lines of the
  prepared videos with their labels, paths rewritten only where the
  extension changed -- use it with ``data_prefix=dict(video=<out-dir>)``;
* ``failed.tsv`` (``path<TAB>reason``) and ``prepare_report.json``.

Examples::

    python tools/data/prepare_videos.py data/k400/train_list.txt \\
        --root data/k400/videos --out-dir data/k400/videos_320_g8 --workers 16
    python tools/data/prepare_videos.py data/my_videos/ --out-dir data/prep \\
        --short-side 256 --gop 1          # all-intra H.264
    python tools/data/prepare_videos.py data/k400/train_list.txt \
        --root data/k400/videos --out-dir data/k400/frames --frames
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Tuple

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', '..'))
from mmengine.utils import ProgressBar  # noqa: E402

from mmiivcl.datasets.unlabeled_video_dataset import \
    VIDEO_EXTENSIONS  # noqa: E402
from mmiivcl.datasets.video_list import read_entries  # noqa: E402
from mmiivcl.utils.cli import HelpFormatter  # noqa: E402
from mmiivcl.utils.killable import run_pool  # noqa: E402
from mmiivcl.utils.transcode import prepare_one  # noqa: E402

KEEP_EXT = ('.mp4', '.mkv', '.mov')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=HelpFormatter)
    p.add_argument('source', help='list file ("path [label]" per line) or a '
                   'folder scanned recursively')
    p.add_argument('--root', default='', help='prefix of relative list paths '
                   "(the dataset's data_prefix['video'])")
    p.add_argument('--out-dir', required=True,
                   help='root of the prepared videos (the new data_prefix)')
    p.add_argument('--short-side', type=int, default=320,
                   help='cap on the short side, never enlarged (0: keep)')
    p.add_argument('--gop', type=int, default=8,
                   help='key-frame interval in frames (1: all-intra)')
    p.add_argument('--crf', type=int, default=23,
                   help='libx264 quality (lower: better, larger)')
    p.add_argument('--preset', default='veryfast', help='libx264 preset')
    p.add_argument('--frames', action='store_true',
                   help='write JPEG frame folders instead of videos')
    p.add_argument('--jpeg-quality', type=int, default=90,
                   help='JPEG quality of --frames (1-100)')
    p.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                   help='parallel processes (the CPU count)')
    p.add_argument('--timeout', type=float, default=600.0,
                   help='seconds per video before its process is killed')
    p.add_argument('--extensions', nargs='+', default=list(VIDEO_EXTENSIONS),
                   help='extensions for a folder scan')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar')
    return p.parse_args(argv)


def output_relpath(line: str, is_folder: bool, frames: bool = False
                   ) -> Tuple[str, str, str]:
    """(input relative path, output relative path, rest of the line);
    with ``frames`` the output is a folder: the path without extension."""
    parts = line.split()
    rest = ''
    if not is_folder and len(parts) > 1:
        try:
            int(parts[-1])
            rest, parts = parts[-1], parts[:-1]
        except ValueError:
            pass
    rel = line if is_folder else ' '.join(parts)
    out = rel.lstrip('/')  # an absolute list path lands under --out-dir
    stem, ext = osp.splitext(out)
    if frames:
        out = stem
    elif ext.lower() not in KEEP_EXT:
        out = stem + '.mp4'
    return rel, out, rest


def prepare(args) -> dict:
    is_folder = osp.isdir(args.source)
    entries = read_entries(args.source, args.root, args.extensions)
    os.makedirs(args.out_dir, exist_ok=True)
    plan = []
    for path, line in entries:
        _, out_rel, rest = output_relpath(line, is_folder, args.frames)
        plan.append((path, osp.join(args.out_dir, out_rel),
                     out_rel + (f' {rest}' if rest else '')))
    short = args.short_side or None
    quality = args.jpeg_quality if args.frames else None
    jobs = [(src, dst, short, args.gop, args.crf, args.preset, quality)
            for src, dst, _ in plan]
    bar = ProgressBar(len(jobs), file=sys.stdout) \
        if jobs and not args.no_progress else None

    def tick(j, status, value):
        if bar is not None:
            bar.update()

    t0 = time.perf_counter()
    results = run_pool(prepare_one, jobs, args.workers, args.timeout,
                       on_result=tick)
    if bar is not None:
        sys.stdout.write('\n')
    lines, failed, recs = [], [], []
    for (src, dst, new_line), (status, value) in zip(plan, results):
        if status == 'ok':
            lines.append(new_line)
            recs.append(dict(value, path=src, out=dst))
        else:
            reason = (f'timed out after {args.timeout:g} s' if status ==
                      'timeout' else f'{type(value).__name__}: {value}')
            failed.append((src, reason.replace('\t', ' ').replace('\n', ' ')))
            if osp.isdir(dst + '.part'):
                shutil.rmtree(dst + '.part')
            elif osp.exists(dst + '.part'):
                os.unlink(dst + '.part')
    list_name = 'list.txt' if is_folder else osp.basename(args.source)
    with open(osp.join(args.out_dir, list_name), 'w') as f:
        f.writelines(x + '\n' for x in lines)
    with open(osp.join(args.out_dir, 'failed.tsv'), 'w') as f:
        f.writelines(f'{p}\t{r}\n' for p, r in failed)
    done = [r for r in recs if not r.get('skipped')]
    report = dict(
        args=vars(args), videos=len(plan), prepared=len(done),
        skipped_existing=len(recs) - len(done), failed=len(failed),
        seconds=time.perf_counter() - t0,
        src_bytes=sum(r['src_bytes'] for r in recs),
        bytes=sum(r['bytes'] for r in recs), list=list_name, files=recs)
    with open(osp.join(args.out_dir, 'prepare_report.json'), 'w') as f:
        json.dump(report, f, indent=1)
    print(f'prepare_videos: {report["prepared"]} prepared, '
          f'{report["skipped_existing"]} already there, {len(failed)} failed '
          f'(failed.tsv) in {report["seconds"]:.1f} s; '
          f'{report["src_bytes"] / 2**20:.1f} -> '
          f'{report["bytes"] / 2**20:.1f} MiB; list: '
          f'{osp.join(args.out_dir, list_name)}')
    return report


def main(argv=None) -> dict:
    return prepare(parse_args(argv))


if __name__ == '__main__':
    main()
