"""CPU ms per pretraining sample on original vs prepared videos, side by side.

Prepares (``tools/data/prepare_videos.py``'s transcoder, cached in
``--cache-dir``) the shared Kinetics clips (340x256 .. 454x256: below the
320 cap, so only the key-frame interval changes) and two 720p clips
(``misc/cockatoo.mp4`` H.264, ``misc/big_buck_bunny_0_30.webm`` VP8: short
side 720 -> 320), then measures, for every video set, in one process and
interleaved sample by sample (the same sample index seeds both, so they
read the very same frames):

* ``ours``: the shipped train pipeline (``configs/_base_/datasets/
  k400_unlabeled.py``: DecordInit, SampleClipPair(2 clips x 8 frames,
  stride 8), DecordDecodeClips(short_side=320), ClipAugment (scale jitter,
  crop 224, colour jitter, grayscale, blur, flip), FormatShape, Pack);
* ``bound``: decode only (DecordInit, SampleClipPair, one sorted get_batch
  of those frames), the floor for that storage;

* ``deferred``: the worker of the GPU-augmentation recipe
  (``configs/_base_/datasets/k400_unlabeled_gpu_aug.py``:
  ``ClipAugment(defer_photometric=True)``, decode + resize + crop + flip),
  whose colour jitter / grayscale / blur ``ClipAugmentPreprocessor`` applies
  on the GPU; that part is also timed here on the CPU, per sample
  (``gpu part on cpu``: what a CPU-only run would pay for it in torch);

A frame-folder set (``tools/data/prepare_videos.py --frames``: JPEG at
quality 90) runs the same three variants opened by the ``'frames'`` reader
(``configs/_base_/datasets/k400_unlabeled_frames.py``: VideoInit(backend=
'frames') in place of DecordInit). On the originals also the two decoder
options: ``DecordInit(num_threads=2)``
(multi-threaded decode) and ``DecordDecodeClips(short_side=None)`` (no
in-decoder resize; the config's 320 resizes the 720p clips in the decoder);
on the 720p originals also ``from frame 0``: ``ours`` with every
``decord (frame 0 first)`` file read sequentially instead (what that read
mode saves).
CPU time is ``time.process_time`` (all threads of the process, decord's
included: robust to other jobs on a shared machine); wall in brackets.

    OMP_NUM_THREADS=1 python benchmarks/bench_prepare.py --json out.json
    (--quick: 2 Kinetics clips, all-intra and frames, 2 samples; seconds)
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from collections import Counter, OrderedDict
from typing import Dict, List, Optional

os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2  # noqa: E402
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

import bench_pipeline as bp  # noqa: E402
from mmengine.config import Config  # noqa: E402

from mmiivcl.datasets.unlabeled_video_dataset import \
    READ_MODE_NAMES, READ_MODES  # noqa: E402
from mmiivcl.utils.transcode import prepare_one  # noqa: E402

SHARED = osp.join(REPO, '..', 'shared', 'data', 'videos')
HD = ('misc/cockatoo.mp4', 'misc/big_buck_bunny_0_30.webm')
# name -> (short side cap, key-frame interval; None: JPEG frame folders)
PREPARED = OrderedDict([('g16', (320, 16)), ('g8', (320, 8)),
                        ('intra', (320, 1)), ('frames', (320, None))])
#: JPEG quality of the frame folders (prepare_videos.py --frames default)
FRAMES_QUALITY = 90
#: a frame-0-first read mode -> the sequential one of its backend
SEQUENTIAL_OF = {c: next(k for k, w in READ_MODES.items()
                         if w == (v[0], True, False))
                 for c, v in READ_MODES.items() if v[2]}


def pipelines(cfg: Config) -> Dict[str, List]:
    ours = copy.deepcopy(list(cfg.train_pipeline))
    types = [t['type'] for t in ours]
    init, sampler = ours[0], ours[types.index('SampleClipPair')]
    dec = types.index('DecordDecodeClips')
    threads = copy.deepcopy(ours)
    threads[0] = dict(init, num_threads=2)
    noresize = copy.deepcopy(ours)
    noresize[dec] = dict(noresize[dec], short_side=None)
    # frame folders: the same pipeline opened by the 'frames' reader
    # (configs/_base_/datasets/k400_unlabeled_frames.py)
    frames = copy.deepcopy(ours)
    frames[0] = dict(type='VideoInit', backend='frames')
    frames[dec] = dict(type='DecordDecodeClips')
    return OrderedDict(
        ours=ours, bound=[init, sampler, bp.DecodeOnly()],
        deferred=bp.deferred_pipeline(ours),
        ours_t2=threads, bound_t2=[threads[0], sampler, bp.DecodeOnly()],
        ours_noresize=noresize, ours_seqread=ours, frames_ours=frames,
        frames_bound=[frames[0], sampler, bp.DecodeOnly()],
        frames_deferred=bp.deferred_pipeline(frames))


def time_preprocessor(samples: List[Dict]) -> Dict[str, float]:
    """CPU ms per sample of ClipAugmentPreprocessor (training mode) on
    the deferred worker's outputs, one sample per call."""
    from mmaction.registry import MODELS
    pre = MODELS.build(dict(type='ClipAugmentPreprocessor',
                            mean=[123.675, 116.28, 103.53],
                            std=[58.395, 57.12, 57.375]))
    times = []
    for s in samples:
        data = dict(inputs=[s['inputs']], data_samples=[s['data_samples']])
        c = time.process_time()
        pre(data, training=True)
        times.append(1e3 * (time.process_time() - c))
    return dict(cpu_ms=statistics.median(times),
                mean_cpu_ms=statistics.mean(times))


def prepare_set(files: List[str], name: str, cache: str) -> List[str]:
    short, gop = PREPARED[name]
    out = []
    for f in files:
        dst = osp.join(cache, name, osp.splitext(osp.basename(f))[0])
        if gop is None:
            prepare_one(f, dst, short_side=short,
                        frames_quality=FRAMES_QUALITY)
        else:
            dst += '.mp4'
            prepare_one(f, dst, short_side=short, gop=gop)
        out.append(dst)
    return out


def set_bytes(files: List[str]) -> int:
    """Bytes of a video set (a frame folder counts all its files)."""
    total = 0
    for f in files:
        if osp.isdir(f):
            total += sum(e.stat().st_size for e in os.scandir(f))
        else:
            total += osp.getsize(f)
    return total


def measure(files: List[str], variants: List[str], pipes: Dict[str, List],
            n: int, seed: int) -> Dict[str, Dict[str, float]]:
    """Median CPU / wall ms per sample of each variant, interleaved."""
    ann = bp.write_list(files, n)
    is_frames = osp.isdir(files[0])
    try:
        dss = {v: bp.SeededDataset(
            ann, pipes[('frames_' + v) if is_frames else v], seed)
            for v in variants}
        if 'ours_seqread' in dss:  # what a frame-0-first file would cost
            modes = dss['ours_seqread'].modes  # if read from frame 0 on
            modes.update({k: SEQUENTIAL_OF.get(c, c)
                          for k, c in modes.items()})
        for v in variants:  # warm-up: lazy imports, first open
            dss[v][0]
        times = {v: [] for v in variants}
        deferred = []
        for i in range(n):
            for v in variants:
                c, w = time.process_time(), time.perf_counter()
                out = dss[v][i]
                times[v].append((1e3 * (time.process_time() - c),
                                 1e3 * (time.perf_counter() - w)))
                if v == 'deferred':
                    deferred.append(out)
    finally:
        os.unlink(ann)
    res = {v: dict(cpu_ms=statistics.median(c for c, _ in t),
                   wall_ms=statistics.median(w for _, w in t),
                   mean_cpu_ms=statistics.mean(c for c, _ in t))
           for v, t in times.items()}
    if deferred:
        res['gpu_part_on_cpu'] = time_preprocessor(deferred)
    # how the dataset decided to read each file (decided before timing)
    res['read_modes'] = dict(Counter(
        READ_MODE_NAMES[c] for c in dss[variants[0]].modes.values()))
    if 'ours_seqread' in dss:
        res['ours_seqread']['read_modes'] = dict(Counter(
            READ_MODE_NAMES[c] for c in dss['ours_seqread'].modes.values()))
    return res


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data', default=SHARED,
                   help='the shared videos folder (kinetics/, misc/)')
    p.add_argument('--config', default=bp.DEFAULT_CONFIG,
                   help='config whose train_pipeline every variant derives '
                   'from ("ours" is it as is)')
    p.add_argument('--cache-dir', default=osp.join(
        os.environ.get('TMPDIR', '/tmp'), 'mmiivcl_bench_prepare'),
        help='prepared videos (kept: a rerun reuses them)')
    p.add_argument('--samples', type=int, default=24,
                   help='samples per video set and variant')
    p.add_argument('--prepared', nargs='+', default=list(PREPARED),
                   choices=list(PREPARED),
                   help='prepared versions to make and measure (H.264 with '
                   'key-frame interval 16, 8, 1; JPEG frame folders at '
                   f'quality {FRAMES_QUALITY}; short side <= 320)')
    p.add_argument('--seed', type=int, default=0,
                   help='numpy seed base, per sample index (the same frames '
                   'for every variant)')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: 2 Kinetics clips, all-intra and frame '
                   'folders, 2 samples')
    p.add_argument('--sets', nargs='+', default=['kinetics', '720p'],
                   choices=['kinetics', '720p'],
                   help='source sets to measure (the shared Kinetics clips, '
                   'the two 720p clips)')
    p.add_argument('--json', help='write all numbers to this file')
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.prepared = 2, ['intra', 'frames']
        args.cache_dir = osp.join(args.cache_dir, 'quick')
    kin_dir = osp.join(args.data, 'kinetics')
    if not osp.isdir(kin_dir):
        sys.exit(f'bench_prepare.py: {kin_dir} not found (--data: the '
                 'shared videos folder, ../shared/data/videos)')
    kinetics = sorted(osp.join(kin_dir, f) for f in os.listdir(kin_dir))
    hd = [osp.join(args.data, f) for f in HD]
    if args.quick:  # two Kinetics clips; no 720p set (its encode is slow)
        kinetics, hd = kinetics[:2], []
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    pipes = pipelines(Config.fromfile(args.config))
    if args.quick:  # the deferred variant is the shipped GPU-aug recipe
        gpu_aug = Config.fromfile(osp.join(
            REPO, 'configs/_base_/datasets/k400_unlabeled_gpu_aug.py'))
        if [dict(t) for t in gpu_aug.train_pipeline] != pipes['deferred']:
            sys.exit('bench_prepare.py: the deferred variant no longer '
                     'equals k400_unlabeled_gpu_aug.py\'s train_pipeline')
    res = dict(args=vars(args), loadavg_start=os.getloadavg(), sets={},
               bytes={}, prepare_s={})
    print(f'{os.cpu_count()} CPUs, load average at start '
          '%.2f %.2f %.2f' % os.getloadavg(), flush=True)
    sets = OrderedDict()
    for tag, files in (('kinetics', kinetics), ('720p', hd)):
        if not files or tag not in args.sets:
            continue
        sets[f'{tag}/original'] = files
        for name in args.prepared:
            t0 = time.perf_counter()
            sets[f'{tag}/{name}'] = prepare_set(files, name,
                                                osp.join(args.cache_dir, tag))
            res['prepare_s'][f'{tag}/{name}'] = time.perf_counter() - t0
    for key, files in sets.items():
        res['bytes'][key] = set_bytes(files)
        variants = ['ours', 'bound', 'deferred']
        if key.endswith('/original') and not args.quick:
            variants += ['ours_t2', 'bound_t2', 'ours_noresize']
            if key.startswith('720p/'):  # holds a frame-0-first file
                variants.append('ours_seqread')
        res['sets'][key] = measure(files, variants, pipes, args.samples,
                                   args.seed)
        m = res['sets'][key]
        print(f'  {key:18s} ' + ' | '.join(
            f'{v} {x["cpu_ms"]:6.1f} [{x.get("wall_ms", 0):5.0f}]'
            for v, x in m.items() if v != 'read_modes')
            + f' | read as {m["read_modes"]}', flush=True)
    res['loadavg_end'] = os.getloadavg()
    if args.json:  # the measurements first, whatever the printing does
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
    print_table(res)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
    return res


def print_table(res: Dict) -> None:
    print('\nCPU ms per sample (median; wall ms in brackets), 1 thread unless '
          't2; 2 clips x 8 frames, stride 8, full augmentation:')
    print(f'{"videos":18s}{"MiB":>7s}{"ours":>16s}{"bound":>16s}'
          f'{"ours/bound":>11s}{"deferred":>16s}{"deferred/bound":>15s}'
          f'{"gpu part on cpu":>16s}{"ours t2":>16s}{"bound t2":>16s}'
          f'{"no in-dec. resize":>19s}{"from frame 0":>16s}')
    for key, m in res['sets'].items():
        def cell(v, width=16):
            x = m.get(v)
            if not x:
                return '-'.rjust(width)
            if 'wall_ms' not in x:
                return f'{x["cpu_ms"]:8.1f}'.rjust(width)
            return f'{x["cpu_ms"]:8.1f} [{x["wall_ms"]:4.0f}]'.rjust(width)
        frac = m['bound']['cpu_ms'] / m['ours']['cpu_ms']
        dfrac = m['bound']['cpu_ms'] / m['deferred']['cpu_ms']
        print(f'{key:18s}{res["bytes"][key] / 2**20:7.1f}{cell("ours")}'
              f'{cell("bound")}{100 * frac:10.0f}%{cell("deferred")}'
              f'{100 * dfrac:14.0f}%{cell("gpu_part_on_cpu")}'
              f'{cell("ours_t2")}'
              f'{cell("bound_t2")}{cell("ours_noresize", 19)}'
              f'{cell("ours_seqread")}')
    parts = []
    for tag in ('kinetics', '720p'):
        if f'{tag}/original' not in res['sets']:
            continue
        orig = res['sets'][f'{tag}/original']['ours']['cpu_ms']
        for key, m in res['sets'].items():
            if not key.startswith(tag + '/'):
                continue
            ours, bound = m['ours']['cpu_ms'], m['bound']['cpu_ms']
            parts.append(f'{key} {ours:.1f} ms ('
                         + ('' if key.endswith('/original') else
                            f'{orig / ours:.2f}x below original, ')
                         + f'{100 * bound / ours:.0f}% of its bound; '
                         'deferred photometric '
                         f'{m["deferred"]["cpu_ms"]:.1f} ms = '
                         f'{100 * bound / m["deferred"]["cpu_ms"]:.0f}%)')
    res['ratios'] = parts
    load0, load1 = res['loadavg_start'][0], res['loadavg_end'][0]
    print('RATIOS ' + ' | '.join(parts) + ' (targets: prepared <= 50 ms, '
          'original >= 90% of its decode bound; load average '
          f'{load0:.1f} at start, {load1:.1f} at end)')


if __name__ == '__main__':
    main()
