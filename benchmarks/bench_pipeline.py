"""Samples/s of the IIVCL pretraining data pipeline on real Kinetics clips.

Compares, on the clips of ``../shared/data/videos/kinetics``:

* ``ours``: the shipped train pipeline (``configs/_base_/datasets/
  k400_unlabeled.py``: DecordInit -> SampleClipPair -> DecordDecodeClips ->
  ClipAugment -> FormatShape -> PackActionInputs), rho=2 clips of 8x8,
  224 crop, every augmentation, then the model's data preprocessor;
* ``ours+kornia``: the same workers with ClipAugment's photometric ops off,
  and colour jitter / grayscale / blur / flip done by kornia in the data
  preprocessor (``benchmarks/kornia_preprocessor.py``), counted in samples/s;
* ``stock`` (a): mmaction2's stock way of getting the same two clips: one
  pipeline pass per clip (DecordInit, SampleFrames(8, 8, 1), DecordDecode,
  RandomRescale, RandomCrop, Flip, RandomApply(ColorJitter), mmcv
  RandomGrayscale broadcast over the frames, a per-frame cv2 Gaussian blur
  (neither mmaction2 1.2 nor mmcv 2.1 has one), FormatShape), run twice;
* ``bound`` (b): decode only: DecordInit + SampleClipPair + one decord
  ``get_batch`` of the sample's frame indices (sorted, each frame once: the
  cheapest way decord offers to get those frames), nothing else;
* ``prev`` (profile only): mmaction2's ``DecordDecode`` (one unsorted
  get_batch) with today's ClipAugment;
* ``before`` (with ``--before REV``): the pipeline before the optimisation:
  ``DecordDecode`` and ClipAugment as of git revision REV (``fb4051e``),
  read with ``git show``.

Every sample index seeds numpy before its pipeline runs, so ``ours``,
``ours+kornia``, ``bound`` and ``prev`` decode the very same frames; ``stock``
draws its two starts from the same distribution.

Output: a per-stage CPU ms/sample profile (in process, one thread), the
DataLoader samples/s for 1 and 2 workers (median of interleaved repeats) and
a final ``RATIOS`` line. CPU time is ``time.process_time`` (all threads of
the process, decord's decoder thread included), the robust measure on a
shared machine; samples/s is wall clock.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pipeline.py
    (--quick for a smoke run; --json FILE to keep the numbers)
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from collections import OrderedDict, defaultdict
from typing import Callable, Dict, List, Optional

os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'benchmarks'))

import mmiivcl  # noqa: E402,F401
from mmaction.registry import MODELS, TRANSFORMS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from mmiivcl.datasets import UnlabeledVideoDataset  # noqa: E402
from mmiivcl.datasets.unlabeled_video_dataset import \
    READ_MODES  # noqa: E402
from mmiivcl.datasets.video_backends import DecordReader  # noqa: E402
from mmiivcl.datasets.transforms.decord_decode_clips import \
    _as_numpy  # noqa: E402

DEFAULT_DATA = osp.join(REPO, '..', 'shared', 'data', 'videos', 'kinetics')
DEFAULT_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                          'k400_unlabeled.py')
PREPROCESSOR = dict(type='ActionDataPreprocessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], format_shape='NCTHW')

# ----------------------------------------------------------------------------
# profiling: every transform is wrapped; enabled only for the profile pass
PROFILE: Dict[str, List[float]] = defaultdict(lambda: [0.0, 0.0])
PROFILE_ON = [False]


class Timed:
    """Callable wrapper accumulating CPU and wall seconds under ``name``."""

    def __init__(self, name: str, fn: Callable) -> None:
        self.name, self.fn = name, fn

    def __call__(self, results):
        if not PROFILE_ON[0]:
            return self.fn(results)
        c, w = time.process_time(), time.perf_counter()
        out = self.fn(results)
        acc = PROFILE[self.name]
        acc[0] += time.process_time() - c
        acc[1] += time.perf_counter() - w
        return out


def _build(cfg) -> Callable:
    if callable(cfg):
        return cfg
    with DefaultScope.overwrite_default_scope('mmaction'):
        return TRANSFORMS.build(copy.deepcopy(cfg))


def timed_pipeline(cfgs: List) -> List[Timed]:
    out = []
    for c in cfgs:
        t = _build(c)
        if isinstance(t, TwoPassStock):  # a container: its passes are timed
            out.append(t)
            continue
        name = c['type'] if isinstance(c, dict) else type(t).__name__
        out.append(Timed(name, t))
    return out


# ----------------------------------------------------------------------------
# (a) stock mmaction2: one pipeline pass per clip
class StockStyleBlur:
    """Per-frame ``cv2.GaussianBlur`` of a clip with probability ``p``.

    Stand-in for a stock blur: mmaction2 1.2 and mmcv 2.1 have none (it is
    what a user of the stock transforms would add). One sigma per clip,
    uint8, full ``kernel`` (23 at 224).
    """

    def __init__(self, p: float, sigma, kernel: int) -> None:
        self.p, self.sigma, self.kernel = p, sigma, kernel

    def __call__(self, results):
        if np.random.rand() < self.p:
            s = float(np.random.uniform(*self.sigma))
            k = self.kernel
            results['imgs'] = [
                cv2.GaussianBlur(f, (k, k), sigmaX=s, sigmaY=s)
                for f in results['imgs']
            ]
        return results


def stock_clip_cfgs(aug: dict, clip_len: int, frame_interval: int) -> List:
    """One stock pass (one clip) reproducing ``aug`` (a ClipAugment cfg)."""
    from mmcv.transforms import (RandomApply, RandomGrayscale,
                                 TransformBroadcaster)
    cj = aug.get('color_jitter') or (0.4, 0.4, 0.4, 0.1)
    with DefaultScope.overwrite_default_scope('mmaction'):
        jitter = TRANSFORMS.build(
            dict(type='ColorJitter', brightness=cj[0], contrast=cj[1],
                 saturation=cj[2], hue=cj[3]))
    crop = aug.get('crop_size', 224)
    return [
        dict(type='DecordInit', io_backend='disk'),
        dict(type='SampleFrames', clip_len=clip_len,
             frame_interval=frame_interval, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='RandomRescale', scale_range=tuple(aug.get('scale',
                                                             (256, 320)))),
        dict(type='RandomCrop', size=crop),
        dict(type='Flip', flip_ratio=aug.get('flip_p', 0.2)),
        RandomApply([jitter], prob=aug.get('color_jitter_p', 0.8)),
        TransformBroadcaster(
            [RandomGrayscale(prob=aug.get('grayscale_p', 0.2),
                             keep_channels=True, color_format='rgb',
                             channel_weights=(0.299, 0.587, 0.114))],
            mapping={'img': 'imgs'}, auto_remap=True,
            share_random_params=True),
        StockStyleBlur(aug.get('blur_p', 0.5),
                       aug.get('blur_sigma', (0.1, 2.0)),
                       int(round(0.1 * crop)) // 2 * 2 + 1),
        dict(type='FormatShape', input_format='NCTHW'),
    ]


class TwoPassStock:
    """Run the one-clip stock pipeline ``num_clips`` times, stack clips."""

    def __init__(self, clip_cfgs: List, num_clips: int) -> None:
        self.passes = timed_pipeline(clip_cfgs)
        self.num_clips = num_clips

    def __call__(self, results):
        outs = []
        for _ in range(self.num_clips):
            r = dict(results)
            for t in self.passes:
                r = t(r)
            outs.append(r)
        res = outs[0]
        res['imgs'] = np.concatenate([o['imgs'] for o in outs])
        res['num_clips'] = self.num_clips
        return res


# ----------------------------------------------------------------------------
# (b) decode-only bound
class DecodeOnly:
    """One sorted, de-duplicated get_batch; returns a tiny placeholder."""

    def __call__(self, results):
        vr = results.pop('video_reader')
        uniq = np.unique(results['frame_inds'])
        # a file whose random access is inexact is read sequentially, as
        # the dataset tells DecordDecodeClips to
        seq = bool(results.get('sequential_read', False))
        if hasattr(vr, 'read'):  # VideoInit's PyAV / frame-folder readers
            frames = vr.read(uniq.tolist(), sequential=seq)
        elif seq:
            frames = DecordReader(reader=vr).read(uniq.tolist(),
                                                  sequential=True)
        else:
            if results.get('prime_read', False):
                vr.next()  # frame 0 first, as DecordDecodeClips
            frames = _as_numpy(vr.get_batch(uniq.tolist()))
        sample = ActionDataSample()
        sample.set_metainfo(dict(sample_idx=results['sample_idx']))
        return dict(inputs=torch.tensor(frames.shape[0]),
                    data_samples=sample)


# ----------------------------------------------------------------------------
def register_before(rev: str) -> str:
    """Register ClipAugment as of git ``rev`` as ``ClipAugmentBefore``."""
    import subprocess
    src = subprocess.run(
        ['git', '-C', REPO, 'show',
         f'{rev}:mmiivcl/datasets/transforms/clip_augment.py'],
        check=True, capture_output=True, text=True).stdout
    src = src.replace('class ClipAugment(', 'class ClipAugmentBefore(')
    if 'ClipAugmentBefore' not in TRANSFORMS.module_dict:
        exec(compile(src, f'{rev}:clip_augment.py', 'exec'),
             {'__name__': 'clip_augment_before'})
    return 'ClipAugmentBefore'


def deferred_pipeline(pipeline: List[dict]) -> List[dict]:
    """``pipeline`` with ClipAugment's photometric ops left to
    ClipAugmentPreprocessor (as configs/_base_/datasets/
    k400_unlabeled_gpu_aug.py does): the worker of the GPU-aug recipe."""
    out = copy.deepcopy(list(pipeline))
    for t in out:
        if t['type'] == 'ClipAugment':
            t['defer_photometric'] = True
        elif t['type'] == 'PackActionInputs':
            t['meta_keys'] = tuple(t['meta_keys']) + ('clip_aug_params',)
    return out


def variant_pipelines(cfg: Config) -> Dict[str, List]:
    ours = list(cfg.train_pipeline)
    types = [t['type'] for t in ours]
    sampler = ours[types.index('SampleClipPair')]
    aug = ours[types.index('ClipAugment')]
    from kornia_preprocessor import geometry_only_pipeline
    stock_clip = stock_clip_cfgs(aug, sampler['clip_len'],
                                 sampler['frame_interval'])
    prev = [dict(type='DecordDecode') if t['type'] == 'DecordDecodeClips'
            else t for t in ours]
    return OrderedDict(
        ours=ours,
        kornia=geometry_only_pipeline(ours),
        deferred=deferred_pipeline(ours),
        stock=[TwoPassStock(stock_clip, sampler['num_clips']),
               dict(type='PackActionInputs',
                    meta_keys=('sample_idx', 'filename'))],
        bound=[ours[0], sampler, DecodeOnly()],
        prev=prev)


class SeededDataset(torch.utils.data.Dataset):
    """``UnlabeledVideoDataset`` over a list file; numpy seeded per index."""

    def __init__(self, ann_file: str, pipeline: List, seed: int) -> None:
        with DefaultScope.overwrite_default_scope('mmaction'):
            # the dataset only lists the files and decides their read modes
            # (its pipeline is never run: a decode step that reads exactly,
            # as every timed pipeline here does)
            self.ds = UnlabeledVideoDataset(
                ann_file=ann_file, data_prefix=dict(video=''),
                pipeline=[dict(type='DecordDecodeClips')])
        self.ds.full_init()
        self.pipeline = timed_pipeline(pipeline)
        self.seed = seed
        # the dataset's read mode per file (backend; sequential for a file
        # whose random access is inexact), decided up front as the dataset
        # does on a file's first use, so that no timed sample pays for it
        self.modes: Dict[str, int] = {}
        for i in range(len(self.ds)):
            path = self.ds.get_data_info(i)['filename']
            if path not in self.modes:  # frame folders: the 'frames' reader
                self.modes[path] = 5 if osp.isdir(path) else \
                    self.ds.decide_read_mode(path)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, idx: int):
        np.random.seed((self.seed * 1000003 + idx) % 2**32)
        results = self.ds.get_data_info(idx)
        code = self.modes[results['filename']]
        (results['video_backend'], results['sequential_read'],
         results['prime_read']) = READ_MODES[code]
        for t in self.pipeline:
            results = t(results)
        return results


# DataLoader variants: name -> (worker pipeline, main-process preprocessor)
LOADER_VARIANTS = OrderedDict([
    ('ours', ('ours', None)),
    ('stock', ('stock', None)),
    ('bound', ('bound', None)),
    ('deferred', ('deferred', None)),
    ('ours+pre', ('ours', 'plain')),
    ('kornia+pre', ('kornia', 'kornia')),
])
# profile: pipeline -> the preprocessor timed after it
PROFILE_PRE = dict(ours='plain', kornia='kornia', stock='plain', bound=None,
                   prev='plain', deferred=None)


def build_preprocessor(kind: Optional[str]):
    """``None``; ``'plain'``: the model's ActionDataPreprocessor;
    ``'kornia'``: the same plus kornia photometric augmentation."""
    if kind is None:
        return None
    if kind == 'kornia':
        import kornia_preprocessor  # noqa: F401  (registers the class)
        return MODELS.build(dict(PREPROCESSOR,
                                 type='KorniaClipAugPreprocessor'))
    return MODELS.build(PREPROCESSOR)


def run_preprocessor(pre, batch) -> None:
    if pre is not None:
        with torch.no_grad():
            pre(batch, training=True)


# ----------------------------------------------------------------------------
def profile(variant: str, ann_file: str, n: int, seed: int,
            pipelines: Dict[str, List], batch_size: int) -> Dict:
    """In-process per-stage CPU / wall ms per sample over ``n`` samples."""
    ds = SeededDataset(ann_file, pipelines[variant], seed)
    pre = build_preprocessor(PROFILE_PRE[variant])
    # warm caches, lazy imports and the allocator outside the measurement
    run_preprocessor(pre, pseudo_collate([ds[0]] * batch_size))
    PROFILE.clear()
    PROFILE_ON[0] = True
    c0, w0 = time.process_time(), time.perf_counter()
    for start in range(0, n, batch_size):
        batch = pseudo_collate(
            [ds[i % len(ds)]
             for i in range(start, min(n, start + batch_size))])
        if pre is not None:
            c, w = time.process_time(), time.perf_counter()
            run_preprocessor(pre, batch)
            acc = PROFILE['data preprocessor (main)']
            acc[0] += time.process_time() - c
            acc[1] += time.perf_counter() - w
    total_cpu, total_wall = time.process_time() - c0, time.perf_counter() - w0
    PROFILE_ON[0] = False
    stages = OrderedDict((k, (v[0] * 1e3 / n, v[1] * 1e3 / n))
                         for k, v in PROFILE.items())
    return dict(stages=stages, cpu_ms=total_cpu * 1e3 / n,
                wall_ms=total_wall * 1e3 / n)


def loader_rate(variant: str, ann_file: str, workers: int, batch_size: int,
                seed: int, pipelines: Dict[str, List]) -> Dict[str, float]:
    """Samples/s through a DataLoader (+ preprocessor in the main process),
    timed from the first batch (worker start-up excluded); and the CPU
    seconds per sample of the workers and the main process together
    (``getrusage`` of the joined workers: every sample of the dataset)."""
    import resource
    pipe, pre_kind = LOADER_VARIANTS[variant]
    ds = SeededDataset(ann_file, pipelines[pipe], seed)
    pre = build_preprocessor(pre_kind)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    main0 = time.process_time()
    dl = torch.utils.data.DataLoader(
        ds, batch_size=batch_size, num_workers=workers, shuffle=False,
        collate_fn=pseudo_collate, drop_last=True,
        prefetch_factor=2 if workers else None)
    it = iter(dl)
    run_preprocessor(pre, next(it))
    t0 = time.perf_counter()
    n = 0
    for batch in it:
        run_preprocessor(pre, batch)
        n += len(batch['data_samples'])
    rate = n / (time.perf_counter() - t0)
    del it, dl  # joins the workers
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (time.process_time() - main0 + children1.ru_utime
           - children0.ru_utime + children1.ru_stime - children0.ru_stime)
    return dict(rate=rate, cpu_ms=1e3 * cpu / len(ds))


def kornia_unavailable(quick: bool) -> Optional[str]:
    """Why the kornia variants cannot run (None: they can)."""
    if quick:
        return '--quick runs no optional dependency'
    import importlib.util
    if importlib.util.find_spec('kornia') is None:
        return ('kornia is not installed (optional, not a project '
                'dependency: pip install kornia==0.9.0 to measure it)')
    return None


def write_list(files: List[str], n: int) -> str:
    fd, path = tempfile.mkstemp(suffix='.txt', prefix='bench_pipeline_')
    with os.fdopen(fd, 'w') as f:
        for i in range(n):
            f.write(files[i % len(files)] + '\n')
    return path


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--data', default=DEFAULT_DATA,
                   help='folder of the video clips to read (all of its files)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='config whose train_pipeline is "ours"')
    p.add_argument('--workers', type=int, nargs='+', default=[1, 2],
                   help='DataLoader worker counts to time')
    p.add_argument('--batch-size', type=int, default=4,
                   help='samples per batch (DataLoader and profile)')
    p.add_argument('--samples', type=int, default=48,
                   help='timed samples per DataLoader run (+1 batch warm-up)')
    p.add_argument('--repeats', type=int, default=3,
                   help='interleaved DataLoader repeats (median taken)')
    p.add_argument('--profile-samples', type=int, default=32,
                   help='samples of the per-stage profile (0: no profile)')
    p.add_argument('--variants', nargs='+', default=list(LOADER_VARIANTS),
                   choices=list(LOADER_VARIANTS) + ['before'],
                   help='DataLoader variants (the profile covers all)')
    p.add_argument('--seed', type=int, default=0,
                   help='numpy seed base, per sample index; repeat r uses '
                   'seed + r')
    p.add_argument('--before', metavar='REV',
                   help='also run the pipeline as of git revision REV '
                   '(DecordDecode + that ClipAugment), e.g. fb4051e')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: few samples, one repeat')
    p.add_argument('--json', help='write all numbers to this file')
    p.add_argument('--report', metavar='JSON',
                   help='print the tables of an earlier --json run, no run')
    args = p.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            out = json.load(f)
        saved = argparse.Namespace(**out['args'])
        if out['profile']:
            print_profile(out['profile'])
        print_rates(out, saved)
        return out
    if args.quick:  # seconds, no optional dependency
        args.samples, args.repeats, args.profile_samples = 4, 1, 2
        args.batch_size, args.workers = 2, [1]
        args.variants = [v for v in args.variants
                         if v in ('ours', 'bound', 'deferred')]
    if args.profile_samples < 0 or args.samples < 1:
        p.error('--profile-samples must be >= 0 and --samples >= 1')
    kornia_why = kornia_unavailable(args.quick)
    if kornia_why:
        print(f'kornia variants skipped: {kornia_why}')
        PROFILE_PRE.pop('kornia', None)
        args.variants = [v for v in args.variants if v != 'kornia+pre']
    cv2.setNumThreads(0)  # as mmengine's default env_cfg
    torch.set_num_threads(1)
    if not osp.isdir(args.data):
        sys.exit(f'bench_pipeline.py: --data {args.data} is not a folder '
                 '(the shared Kinetics clips: ../shared/data/videos/kinetics)')
    files = sorted(osp.join(args.data, f) for f in os.listdir(args.data))
    cfg = Config.fromfile(args.config)
    pipelines = variant_pipelines(cfg)
    if args.before:
        name = register_before(args.before)
        pipelines['before'] = [dict(t, type=name) if t['type'] ==
                               'ClipAugment' else t
                               for t in pipelines['prev']]
        PROFILE_PRE['before'] = 'plain'
        LOADER_VARIANTS['before'] = ('before', None)
        if 'before' not in args.variants:
            args.variants.append('before')
    ann = write_list(files, args.samples + args.batch_size)
    out = dict(files=[osp.basename(f) for f in files], args=vars(args),
               profile={}, rate={}, loadavg_start=os.getloadavg())
    print(f'{len(files)} clips from {args.data}; {os.cpu_count()} CPUs, '
          'load average at start %.2f %.2f %.2f' % os.getloadavg())
    try:
        # 1. per-stage profile
        if args.profile_samples == 0:
            print('per-stage profile skipped (--profile-samples 0)')
        for v in PROFILE_PRE if args.profile_samples else ():
            out['profile'][v] = profile(v, ann, args.profile_samples,
                                        args.seed, pipelines, args.batch_size)
        if out['profile']:
            print_profile(out['profile'])
        # 2. DataLoader samples/s, variants interleaved in every repeat
        runs = defaultdict(list)
        for r in range(args.repeats):
            for w in args.workers:
                for v in args.variants:
                    m = loader_rate(v, ann, w, args.batch_size,
                                    args.seed + r, pipelines)
                    runs[f'{v}/w{w}'].append(m)
                    print(f'  repeat {r}: {v:7s} workers={w}: '
                          f'{m["rate"]:6.2f} samples/s, '
                          f'{m["cpu_ms"]:6.1f} CPU ms/sample', flush=True)
        out['rate'] = {
            k: dict(median=statistics.median(m['rate'] for m in x),
                    cpu_ms=statistics.median(m['cpu_ms'] for m in x),
                    runs=x) for k, x in runs.items()}
    finally:
        os.unlink(ann)
    out['loadavg_end'] = os.getloadavg()
    print('load average at end %.2f %.2f %.2f' % out['loadavg_end'])
    print_rates(out, args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return out


def print_profile(prof: Dict) -> None:
    names = list(prof)
    stages = []
    for v in names:
        for s in prof[v]['stages']:
            if s not in stages:
                stages.append(s)
    print('\nPer-stage CPU ms/sample (wall ms in brackets), in process, '
          '1 thread:')
    print(f'{"stage":28s}' + ''.join(f'{v:>17s}' for v in names))
    for s in stages:
        row = f'{s:28s}'
        for v in names:
            x = prof[v]['stages'].get(s)
            row += f'{x[0]:9.1f} [{x[1]:5.0f}]' if x else f'{"-":>17s}'
        print(row)
    print(f'{"total":28s}' + ''.join(
        f'{prof[v]["cpu_ms"]:9.1f} [{prof[v]["wall_ms"]:5.0f}]'
        for v in names))


def print_rates(out: Dict, args) -> None:
    rate = out['rate']
    ws = args.workers
    print('\nDataLoader samples/s (median of '
          f'{args.repeats} interleaved runs, batch {args.batch_size}, '
          f'{args.samples} timed samples each; "+pre": the model\'s data '
          'preprocessor runs in the main process, as on a CPU-only machine):')
    print(f'{"variant":12s}' + ''.join(f'{"workers=" + str(w):>12s}'
                                       for w in ws))
    for v in args.variants:
        print(f'{v:12s}' + ''.join(f'{rate[f"{v}/w{w}"]["median"]:12.2f}'
                                   for w in ws))
    print('CPU ms per sample, workers + main process (median; time-sharing '
          'with other jobs does not move it):')
    for v in args.variants:
        print(f'{v:12s}' + ''.join(f'{rate[f"{v}/w{w}"]["cpu_ms"]:12.1f}'
                                   for w in ws))

    def ratio(a: str, b: str, w: int, key: str = 'median'):
        """Median over repeats of a/b in the same repeat (paired: robust to
        a load that drifts between repeats); higher = ``a`` better."""
        if f'{a}/w{w}' not in rate or f'{b}/w{w}' not in rate:
            return None
        k = 'rate' if key == 'median' else 'cpu_ms'
        pairs = zip(rate[f'{a}/w{w}']['runs'], rate[f'{b}/w{w}']['runs'])
        return statistics.median(x[k] / y[k] if k == 'rate' else y[k] / x[k]
                                 for x, y in pairs)

    parts = []
    for label, a, b, pct in (('ours/before', 'ours', 'before', False),
                             ('ours/stock', 'ours', 'stock', False),
                             ('ours/decode-bound', 'ours', 'bound', True),
                             ('deferred/decode-bound', 'deferred', 'bound',
                              True),
                             ('kornia+pre/ours+pre', 'kornia+pre',
                              'ours+pre', False)):
        for key, tag in (('median', 'samples/s'), ('cpu_ms', 'CPU time')):
            vals = [(w, ratio(a, b, w, key)) for w in ws]
            vals = [(w, r) for w, r in vals if r is not None]
            if vals:
                parts.append(f'{label} ({tag}) ' + ', '.join(
                    f'w{w} ' + (f'{100 * r:.0f}%' if pct else f'{r:.2f}x')
                    for w, r in vals))
    prof = out['profile']
    if 'ours' in prof and 'kornia' in prof:  # both profiled
        saved = (prof['ours']['stages']['ClipAugment'][0]
                 - prof['kornia']['stages']['ClipAugment'][0])
        extra = (prof['kornia']['stages']['data preprocessor (main)'][0]
                 - prof['ours']['stages']['data preprocessor (main)'][0])
        parts.append(f'kornia: -{saved:.1f} worker CPU ms/sample, '
                     f'+{extra:.1f} preprocessor CPU ms/sample')
    out['ratios'] = parts
    print('RATIOS (medians of per-repeat ratios) ' + ' | '.join(parts) +
          ' (targets: ours/stock >= 1.5x, ours/decode-bound >= 60%)')


if __name__ == '__main__':
    main()
