"""Consistency checks for AVA action-detection configs and data roots.

AVA fails silently in several ways (docs/design.md#ava-pitfalls):

* a head whose ``num_classes`` disagrees with the dataset's label indexing, or
  a metric whose ``num_classes`` / ``custom_classes`` disagree with the head,
  trains with a falling loss and evaluates to mAP 0;
* a validation set without person proposals falls back to one whole-frame box
  per keyframe (mmaction2's ``AVADataset.get_data_info``);
* frame folders with the wrong frame count (wrong frame rate, wrong cut) shift
  every keyframe in time, and a missing frame crashes hours into training.

This module has two entry points, both returning a list of :class:`AVAProblem`
(empty when all is well) so that callers decide how to report:

* :func:`ava_config_problems` looks at a config only (plus the label file).
  :class:`~mmiivcl.engine.hooks.AVAConfigCheckHook` runs it before training or
  testing starts and raises :class:`AVAConfigError`.
* :func:`ava_data_problems` also reads the annotation, exclusion and proposal
  files and the frame folders; ``tools/check_ava.py`` runs both.

Conventions checked are mmaction2 1.2.0's ``AVADataset`` / ``SampleAVAFrames``:
a keyframe at second ``ts`` is frame ``fps * (ts - timestamp_start) +
start_index`` of its folder; the sampler reads frames ``start_index`` ..
``(timestamp_end - timestamp_start) * fps + start_index - 1`` (27000 for the
defaults 900 / 1800 / 30 fps / 1); mmaction2's extraction recipe
(``tools/data/ava/cut_videos.sh``: ``ffmpeg -ss 900 -t 901 ... -r 30``, then
``img_%05d.jpg``) gives ``(timestamp_end - timestamp_start + 1) * fps`` = 27030
frames per video.
"""
import csv
import os
import os.path as osp
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

__all__ = [
    'AVAProblem', 'AVAConfigError', 'read_label_ids', 'ava_config_problems',
    'check_ava_config', 'ava_data_problems', 'AVASplitSpec',
    'split_specs_from_cfg', 'expected_frame_count', 'required_frame_count'
]

ERROR = 'error'
WARNING = 'warning'

# AVADataset's defaults (mmaction2 1.2.0)
_DS_DEFAULTS = dict(
    filename_tmpl='img_{:05}.jpg', start_index=1, timestamp_start=900,
    timestamp_end=1800, fps=30, num_classes=81, custom_classes=None,
    use_frames=True, exclude_file=None, label_file=None, proposal_file=None,
    person_det_score_thr=0.9)
_AVA_DATASETS = ('AVADataset', 'mmaction.AVADataset')
_AVA_METRICS = ('AVAMetric', 'mmaction.AVAMetric')

_EXTRACT_FIX = (
    'extract frames with mmaction2\'s recipe: ffmpeg -ss 900 -t 901 -i '
    'VIDEO -r 30 -strict experimental CUT.mp4, then ffmpeg -i CUT.mp4 -r 30 '
    '-q:v 1 FRAME_DIR/VIDEO_ID/img_%05d.jpg (docs/ava.md)')


@dataclass
class AVAProblem:
    """One finding of a check.

    Attributes:
        where: the file (or config key) the problem is in.
        message: what is wrong.
        fix: how to fix it.
        level: ``'error'`` (training/evaluation would be wrong or crash) or
            ``'warning'`` (suspicious, not fatal).
    """
    where: str
    message: str
    fix: str = ''
    level: str = ERROR

    def __str__(self) -> str:
        tag = 'FAIL' if self.level == ERROR else 'WARN'
        out = f'[{tag}] {self.where}: {self.message}'
        if self.fix:
            out += f'\n       fix: {self.fix}'
        return out


class AVAConfigError(ValueError):
    """Raised by :func:`check_ava_config` with every error found."""

    def __init__(self, problems: Sequence[AVAProblem]) -> None:
        self.problems = list(problems)
        body = '\n'.join(str(p) for p in self.problems)
        super().__init__(
            f'AVA config is inconsistent ({len(self.problems)} problem(s)):'
            f'\n{body}')


# ----------------------------------------------------------------------------
# label files
# ----------------------------------------------------------------------------
_PBTXT_ID = re.compile(r'^\s*(?:label_)?id\s*:\s*(\d+)\s*$')
_PLAIN_ID = re.compile(r'^\s*(\d+)\s*:\s*\S')


def read_label_ids(path: str) -> List[int]:
    """Class ids of an AVA label file, in file order.

    Accepts the official pbtxt (``item { name: "..." id: N }``; also
    ``label_id: N``) as read by mmaction2's ``read_labelmap``, and the plain
    ``N: name`` list (``../shared/data/label_maps/ava_label_map.txt``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: no class id could be parsed, or an id repeats.
    """
    with open(path) as f:
        lines = f.read().splitlines()
    is_pbtxt = any(line.strip().startswith('item') for line in lines)
    ids = []
    for line in lines:
        m = (_PBTXT_ID if is_pbtxt else _PLAIN_ID).match(line)
        if m:
            ids.append(int(m.group(1)))
    if not ids:
        raise ValueError(f'{path}: no class ids found (expected pbtxt items '
                         'with "id: N" or lines "N: name")')
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f'{path}: class ids repeat: {dup}')
    return ids


# ----------------------------------------------------------------------------
# config access
# ----------------------------------------------------------------------------
def _get(obj, key, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict) or hasattr(obj, 'get'):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _unwrap_dataset(ds):
    """Follow dataset wrappers (RepeatDataset, ClassBalancedDataset, ...)."""
    seen = 0
    while ds is not None and _get(ds, 'type') not in _AVA_DATASETS and \
            _get(ds, 'dataset') is not None and seen < 5:
        ds = _get(ds, 'dataset')
        seen += 1
    return ds


def _ava_metrics(evaluator) -> list:
    if evaluator is None:
        return []
    if isinstance(evaluator, (list, tuple)):
        items = list(evaluator)
    elif _get(evaluator, 'metrics') is not None:  # Evaluator(metrics=[...])
        m = _get(evaluator, 'metrics')
        items = list(m) if isinstance(m, (list, tuple)) else [m]
    else:
        items = [evaluator]
    return [m for m in items if _get(m, 'type') in _AVA_METRICS]


@dataclass
class AVASplitSpec:
    """The AVA data settings of one split, read from a config.

    ``metric`` is the split's ``AVAMetric`` config (val/test), or ``None``.
    """
    split: str
    ann_file: str
    exclude_file: Optional[str]
    label_file: Optional[str]
    proposal_file: Optional[str]
    frame_dir: str
    filename_tmpl: str
    start_index: int
    timestamp_start: int
    timestamp_end: int
    fps: int
    num_classes: int
    custom_classes: Optional[List[int]]
    use_frames: bool
    metric: Optional[dict] = None


def split_specs_from_cfg(cfg) -> List[AVASplitSpec]:
    """The AVA splits (train / val / test) of a config, skipping absent or
    non-AVA dataloaders and a test split identical to val."""
    specs = []
    for split in ('train', 'val', 'test'):
        dl = _get(cfg, f'{split}_dataloader')
        ds = _unwrap_dataset(_get(dl, 'dataset'))
        if ds is None or _get(ds, 'type') not in _AVA_DATASETS:
            continue
        args = {k: _get(ds, k, v) for k, v in _DS_DEFAULTS.items()}
        prefix = _get(ds, 'data_prefix', {}) or {}
        metrics = _ava_metrics(_get(cfg, f'{split}_evaluator')) \
            if split != 'train' else []
        cc = args['custom_classes']
        spec = AVASplitSpec(
            split=split, ann_file=_get(ds, 'ann_file'),
            exclude_file=args['exclude_file'], label_file=args['label_file'],
            proposal_file=args['proposal_file'],
            frame_dir=_get(prefix, 'img', '') or '',
            filename_tmpl=args['filename_tmpl'],
            start_index=int(args['start_index']),
            timestamp_start=int(args['timestamp_start']),
            timestamp_end=int(args['timestamp_end']), fps=int(args['fps']),
            num_classes=int(args['num_classes']),
            custom_classes=list(cc) if cc is not None else None,
            use_frames=bool(args['use_frames']),
            metric=dict(metrics[0]) if metrics else None)
        if split == 'test' and specs and specs[-1].split == 'val' and \
                _same_split(specs[-1], spec):
            continue
        specs.append(spec)
    return specs


def _same_split(a: AVASplitSpec, b: AVASplitSpec) -> bool:
    fa = {k: v for k, v in a.__dict__.items() if k != 'split'}
    fb = {k: v for k, v in b.__dict__.items() if k != 'split'}
    return fa == fb


def expected_frame_count(spec: AVASplitSpec) -> int:
    """Frames per video of mmaction2's extraction recipe: the cut spans
    ``timestamp_start`` .. ``timestamp_end`` inclusive (901 s) at ``fps``."""
    return (spec.timestamp_end - spec.timestamp_start + 1) * spec.fps


def required_frame_count(spec: AVASplitSpec) -> int:
    """Highest frame number ``SampleAVAFrames`` can read, minus
    ``start_index - 1``: its clips are clipped to ``shot_info = (0,
    (timestamp_end - timestamp_start) * fps)``."""
    return (spec.timestamp_end - spec.timestamp_start) * spec.fps


# ----------------------------------------------------------------------------
# config checks
# ----------------------------------------------------------------------------
def _head_cfg(cfg):
    model = _get(cfg, 'model')
    return _get(_get(model, 'roi_head'), 'bbox_head')


def ava_config_problems(cfg) -> List[AVAProblem]:
    """Check the class bookkeeping of an AVA detection config.

    Rules (mmaction2 1.2.0 semantics, class 0 = background):

    * head, datasets and ``AVAMetric`` agree on ``num_classes``;
    * with ``custom_classes``: ``num_classes == len(custom_classes) + 1``,
      0 is not in it, datasets and metrics use the same list, and it equals
      the label file's class set (the label map's class count + 1 = head
      ``num_classes``); without: ``num_classes`` exceeds every label id
      (raw AVA ids index the head directly);
    * every ``topk`` of ``BBoxHeadAVA`` is in ``[1, num_classes)``;
    * ``background_class=True`` (the above assumes it);
    * datasets and metrics read the same label file;
    * val/test datasets have a person ``proposal_file`` and the metric's
      ``ann_file`` is the dataset's.

    Args:
        cfg: an mmengine ``Config`` (or nested dicts).

    Returns:
        list of :class:`AVAProblem` (empty if consistent).
    """
    problems: List[AVAProblem] = []
    head = _head_cfg(cfg)
    specs = split_specs_from_cfg(cfg)
    if head is None:
        return [AVAProblem('model.roi_head.bbox_head',
                           'no bbox head in the config',
                           'use an AVARoIHead with a BBoxHeadAVA')]
    head_nc = int(_get(head, 'num_classes', 81))
    key = 'model.roi_head.bbox_head'
    if not _get(head, 'background_class', False):
        problems.append(AVAProblem(
            key, 'background_class is not True: mmaction2 AVA labels reserve '
            'index 0 for background', 'set background_class=True'))
    topk = _get(head, 'topk', (3, 5))
    topk = () if topk is None else ((topk,) if isinstance(topk, int)
                                    else tuple(topk))
    bad_k = [k for k in topk if not 1 <= int(k) < head_nc]
    if bad_k:
        problems.append(AVAProblem(
            f'{key}.topk', f'topk {tuple(topk)} has values outside [1, '
            f'num_classes={head_nc}): {bad_k}',
            f'use topk values below {head_nc} (e.g. (3, 5))'))

    label_ids_cache: Dict[str, Optional[List[int]]] = {}

    def label_ids(path, where):
        if path in label_ids_cache:
            return label_ids_cache[path]
        ids = None
        if path is None:
            problems.append(AVAProblem(
                where, 'no label_file set', 'set label_file to the 60-class '
                'ava_action_list_v2.2_for_activitynet_2019.pbtxt'))
        elif not osp.isfile(path):
            problems.append(AVAProblem(
                path, f'label file not found ({where})',
                'download the AVA annotations (docs/ava.md) or fix the path'))
        else:
            try:
                ids = read_label_ids(path)
            except ValueError as e:
                problems.append(AVAProblem(path, str(e), 'use the official '
                                           'pbtxt label file'))
        label_ids_cache[path] = ids
        return ids

    users = []  # (where, num_classes, custom_classes, label_file)
    for spec in specs:
        users.append((f'{spec.split}_dataloader.dataset', spec.num_classes,
                      spec.custom_classes, spec.label_file))
        if spec.metric is not None:
            m = spec.metric
            cc = _get(m, 'custom_classes')
            users.append((f'{spec.split}_evaluator (AVAMetric)',
                          int(_get(m, 'num_classes', 81)),
                          list(cc) if cc is not None else None,
                          _get(m, 'label_file')))
            if _get(m, 'ann_file') != spec.ann_file:
                problems.append(AVAProblem(
                    f'{spec.split}_evaluator.ann_file',
                    f'metric ann_file {_get(m, "ann_file")!r} differs from '
                    f'the {spec.split} dataset ann_file {spec.ann_file!r}',
                    'evaluate against the annotation file of the split you '
                    'predict on'))
            if _get(m, 'exclude_file') != spec.exclude_file:
                problems.append(AVAProblem(
                    f'{spec.split}_evaluator.exclude_file',
                    f'metric exclude_file {_get(m, "exclude_file")!r} '
                    f'differs from the dataset\'s {spec.exclude_file!r}',
                    'use the same exclusion file in dataset and metric'))
        if spec.split in ('val', 'test') and not spec.proposal_file:
            problems.append(AVAProblem(
                f'{spec.split}_dataloader.dataset.proposal_file',
                'no person proposals for evaluation: mmaction2 then scores '
                'one whole-frame box per keyframe',
                'set proposal_file to ava_dense_proposals_val.FAIR.'
                'recall_93.9.pkl'))
    for spec in specs:
        if spec.split != 'train' and spec.metric is None:
            problems.append(AVAProblem(
                f'{spec.split}_evaluator', 'no AVAMetric for the '
                f'{spec.split} split', "add dict(type='AVAMetric', ...)",
                WARNING))

    label_files = {lf for _, _, _, lf in users if lf is not None}
    if len(label_files) > 1:
        id_sets = {lf: label_ids(lf, 'label_file') for lf in label_files}
        known = [tuple(sorted(s)) for s in id_sets.values() if s is not None]
        if len(set(known)) > 1:
            problems.append(AVAProblem(
                ', '.join(sorted(label_files)),
                'datasets and metric read label files with different class '
                'sets', 'use one label file (the 60-class v2.2 pbtxt) '
                'everywhere'))

    # the head against the label map (the count users get wrong most)
    if users and users[0][2] is not None and users[0][3] is not None:
        ids0 = label_ids(users[0][3], f'{users[0][0]}.label_file')
        if ids0 is not None and head_nc != len(ids0) + 1:
            problems.append(AVAProblem(
                f'{key}.num_classes',
                f'head num_classes={head_nc} but the label file '
                f'{users[0][3]} has {len(ids0)} classes (+1 background = '
                f'{len(ids0) + 1})',
                f'set model.roi_head.bbox_head.num_classes={len(ids0) + 1}'))
    for where, nc, cc, lf in users:
        if nc != head_nc:
            problems.append(AVAProblem(
                f'{where}.num_classes',
                f'num_classes={nc} but the head has num_classes={head_nc}',
                'use one num_classes (= number of classes + 1 background) in '
                'head, datasets and AVAMetric'))
        ids = label_ids(lf, f'{where}.label_file')
        if cc is not None:
            if 0 in cc:
                problems.append(AVAProblem(
                    f'{where}.custom_classes', 'custom_classes contains 0 '
                    '(reserved for background)', 'remove 0'))
            if len(set(cc)) != len(cc):
                problems.append(AVAProblem(
                    f'{where}.custom_classes', 'custom_classes repeats ids',
                    'list every class id once'))
            if nc != len(cc) + 1:
                problems.append(AVAProblem(
                    f'{where}.num_classes',
                    f'num_classes={nc} but len(custom_classes)+1='
                    f'{len(cc) + 1}', 'set num_classes = len(custom_classes)'
                    ' + 1 (background)'))
            if ids is not None and set(cc) != set(ids):
                extra = sorted(set(cc) - set(ids))
                missing = sorted(set(ids) - set(cc))
                problems.append(AVAProblem(
                    f'{where}.custom_classes',
                    f'custom_classes ({len(cc)} ids) differ from the label '
                    f'file {lf} ({len(ids)} classes): not in label file '
                    f'{extra}, not in custom_classes {missing}',
                    'set custom_classes to the label file\'s ids and '
                    f'num_classes={len(ids) + 1}'))
        elif ids is not None and max(ids) >= nc:
            problems.append(AVAProblem(
                f'{where}.num_classes',
                f'num_classes={nc} but label file {lf} has ids up to '
                f'{max(ids)} (raw AVA ids index the head without '
                'custom_classes)',
                f'set custom_classes to the label file\'s {len(ids)} ids and '
                f'num_classes={len(ids) + 1}, or num_classes>{max(ids)}'))
    # datasets and metrics must map indices to ids the same way
    ccs = {(where, tuple(cc) if cc is not None else None)
           for where, _, cc, _ in users}
    if len({c for _, c in ccs}) > 1:
        problems.append(AVAProblem(
            'custom_classes', 'datasets / metric disagree on custom_classes: '
            + '; '.join(f'{w}: {"None" if c is None else len(c)}'
                        for w, c in sorted(ccs, key=lambda x: x[0])),
            'use the same custom_classes list in every AVA dataset and in '
            'AVAMetric'))
    return problems


def check_ava_config(cfg) -> None:
    """Raise :class:`AVAConfigError` listing every error of
    :func:`ava_config_problems` (warnings do not raise)."""
    errors = [p for p in ava_config_problems(cfg) if p.level == ERROR]
    if errors:
        raise AVAConfigError(errors)


# ----------------------------------------------------------------------------
# data checks
# ----------------------------------------------------------------------------
def _read_ann(path: str, spec: AVASplitSpec, problems: List[AVAProblem],
              label_ids: Optional[Set[int]]):
    """Rows of an AVA csv grouped by keyframe: {(vid, ts): n_rows}."""
    keyframes: Dict[Tuple[str, int], int] = defaultdict(int)
    bad_rows, out_window, bad_box, unknown = [], [], [], defaultdict(int)
    with open(path, newline='') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not ''.join(row).strip():
                continue
            if len(row) not in (7, 8):
                bad_rows.append(lineno)
                continue
            try:
                vid, ts = row[0].strip(), int(row[1])
                box = [float(v) for v in row[2:6]]
                action = int(row[6])
            except ValueError:
                bad_rows.append(lineno)
                continue
            if not spec.timestamp_start <= ts <= spec.timestamp_end:
                out_window.append(lineno)
            if not (0 <= box[0] <= box[2] <= 1 and 0 <= box[1] <= box[3] <= 1):
                bad_box.append(lineno)
            if label_ids is not None and action not in label_ids:
                unknown[action] += 1
            keyframes[(vid, ts)] += 1
    if bad_rows:
        problems.append(AVAProblem(
            path, f'{len(bad_rows)} malformed row(s), e.g. line(s) '
            f'{bad_rows[:5]} (expected video_id,timestamp,x1,y1,x2,y2,'
            'action_id[,person_id])', 'fix or re-download the csv'))
    if out_window:
        problems.append(AVAProblem(
            path, f'{len(out_window)} row(s) with timestamps outside '
            f'[{spec.timestamp_start}, {spec.timestamp_end}], e.g. line(s) '
            f'{out_window[:5]}: their clips would be clipped to the window',
            'set timestamp_start/timestamp_end in the dataset config to the '
            'annotation window'))
    if bad_box:
        problems.append(AVAProblem(
            path, f'{len(bad_box)} row(s) with boxes not normalised to [0, 1]'
            f' (x1<=x2, y1<=y2), e.g. line(s) {bad_box[:5]}',
            'AVA boxes are relative coordinates; normalise them'))
    if unknown:
        problems.append(AVAProblem(
            path, f'{sum(unknown.values())} row(s) with action ids not in the'
            f' label file (ids {sorted(unknown)[:10]}): not evaluated (and '
            'dropped in training when custom_classes is set)',
            'expected for classes outside the evaluated set; otherwise use '
            'the matching label file', WARNING))
    return keyframes


def _read_exclusions(path: str, problems: List[AVAProblem]) -> Set:
    out = set()
    bad = []
    with open(path, newline='') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not ''.join(row).strip():
                continue
            try:
                assert len(row) == 2
                out.add((row[0].strip(), int(row[1])))
            except (AssertionError, ValueError):
                bad.append(lineno)
    if bad:
        problems.append(AVAProblem(
            path, f'{len(bad)} malformed row(s), e.g. line(s) {bad[:5]} '
            '(expected video_id,timestamp)', 'fix or re-download the file'))
    return out


def _load_proposals(path: str, problems: List[AVAProblem]):
    from mmengine.fileio import load  # pickle, not torch.load
    try:
        props = load(path)
    except Exception as e:  # noqa: BLE001 - report any unreadable file
        problems.append(AVAProblem(
            path, f'cannot read the proposal file: {type(e).__name__}: {e}',
            'use the pickled dict {"video_id,timestamp": array (n, 4|5)}'))
        return None
    if not isinstance(props, dict):
        problems.append(AVAProblem(
            path, f'proposal file holds a {type(props).__name__}, not a dict',
            'use the pickled dict {"video_id,timestamp": array (n, 4|5)}'))
        return None
    parsed = {}
    bad_keys, bad_vals = [], []
    for k, v in props.items():
        try:
            vid, ts = str(k).rsplit(',', 1)
            key = (vid, int(ts))
        except ValueError:
            bad_keys.append(k)
            continue
        arr = np.asarray(v)
        if arr.ndim != 2 or arr.shape[-1] not in (4, 5) or (
                arr.size and (arr[:, :4].min() < 0 or arr[:, :4].max() > 1)):
            bad_vals.append(k)
        parsed[key] = arr
    if bad_keys:
        problems.append(AVAProblem(
            path, f'{len(bad_keys)} key(s) not of the form '
            f'"video_id,timestamp", e.g. {bad_keys[:3]}',
            'key proposals by f"{video_id},{timestamp:04d}"'))
    if bad_vals:
        problems.append(AVAProblem(
            path, f'{len(bad_vals)} entr(y/ies) are not (n, 4|5) arrays of '
            f'relative coordinates in [0, 1], e.g. {bad_vals[:3]}',
            'normalise boxes by frame width/height (mmaction2 asserts '
            'relative proposals)'))
    return parsed


def _frame_problems(spec: AVASplitSpec, videos: Iterable[str],
                    frame_tolerance: int) -> List[AVAProblem]:
    problems = []
    expected = expected_frame_count(spec)
    required = required_frame_count(spec)
    missing = []
    for vid in sorted(videos):
        d = osp.join(spec.frame_dir, vid)
        if not osp.isdir(d):
            missing.append(d)
            continue
        names = {e.name for e in os.scandir(d)}
        tmpl = spec.filename_tmpl
        n = 0
        while tmpl.format(spec.start_index + n) in names:
            n += 1
        if n == 0:
            example = sorted(names)[:2]
            problems.append(AVAProblem(
                d, f'no frame named {tmpl.format(spec.start_index)!r} '
                f'(filename_tmpl={tmpl!r}, start_index={spec.start_index}); '
                f'found {len(names)} file(s), e.g. {example}',
                'rename the frames or set filename_tmpl/start_index in the '
                'dataset config; ' + _EXTRACT_FIX))
            continue
        n_like = sum(1 for name in names
                     if _matches_tmpl(name, tmpl))
        if n < required:
            problems.append(AVAProblem(
                d, f'{n} consecutive frames from '
                f'{tmpl.format(spec.start_index)}, but the sampler reads up '
                f'to frame {tmpl.format(spec.start_index + required - 1)} '
                f'({required} frames; {expected} expected at {spec.fps} fps '
                f'for {spec.timestamp_start}-{spec.timestamp_end} s)'
                + (f'; {n_like - n} more frame(s) after a gap'
                   if n_like > n else ''),
                're-extract this video at exactly '
                f'{spec.fps} fps: ' + _EXTRACT_FIX))
        elif abs(n - expected) > frame_tolerance:
            problems.append(AVAProblem(
                d, f'{n} frames, expected {expected} '
                f'({spec.timestamp_end - spec.timestamp_start + 1} s at '
                f'{spec.fps} fps): keyframes are then misaligned in time',
                're-extract at exactly '
                f'{spec.fps} fps ({_EXTRACT_FIX}), or pass --frame-tolerance '
                'if the count is known to be right'))
    if missing:
        problems.append(AVAProblem(
            spec.frame_dir, f'{len(missing)} annotated video(s) have no frame '
            f'folder, e.g. {missing[:3]}',
            'download and extract these videos (' + _EXTRACT_FIX + '), or '
            'check data_prefix.img'))
    return problems


def _matches_tmpl(name: str, tmpl: str) -> bool:
    head, _, rest = tmpl.partition('{')
    _, _, tail = rest.partition('}')
    return name.startswith(head) and name.endswith(tail) and \
        name[len(head):len(name) - len(tail)].isdigit()


def ava_data_problems(spec: AVASplitSpec,
                      check_frames: bool = True,
                      frame_tolerance: int = 0,
                      stats: Optional[dict] = None) -> List[AVAProblem]:
    """Check the files of one AVA split against each other and the frames.

    * the annotation csv parses, timestamps lie in the dataset window and
      boxes are relative;
    * the exclusion file parses and refers to videos of this split;
    * the proposal file parses (pickle) into relative boxes; for val/test it
      has an entry for every non-excluded annotated keyframe (otherwise
      mmaction2 silently uses a whole-frame box), for train missing entries
      are a warning;
    * every annotated video has a frame folder named by ``filename_tmpl``
      with the expected frame count (see :func:`expected_frame_count`).

    Args:
        spec: the split's settings (:func:`split_specs_from_cfg`).
        check_frames: also scan the frame folders.
        frame_tolerance: allowed ``|count - expected|`` for complete folders.
        stats: if given, filled with counts (videos, keyframes, boxes,
            excluded, proposals).

    Returns:
        list of :class:`AVAProblem`.
    """
    problems: List[AVAProblem] = []
    stats = {} if stats is None else stats
    for name, path, needed in (
            ('ann_file', spec.ann_file, True),
            ('exclude_file', spec.exclude_file, False),
            ('proposal_file', spec.proposal_file, spec.split != 'train'),
            ('label_file', spec.label_file, True)):
        if path is None:
            if needed:
                problems.append(AVAProblem(
                    f'{spec.split}_dataloader.dataset.{name}',
                    f'{name} not set for the {spec.split} split',
                    'set it in the config (docs/ava.md lists the files)'))
        elif not osp.isfile(path):
            problems.append(AVAProblem(
                path, f'{name} of the {spec.split} split not found',
                'download the AVA annotations (docs/ava.md) or fix the path '
                'in the config'))
    if spec.ann_file is None or not osp.isfile(spec.ann_file):
        return problems

    ids = None
    if spec.label_file and osp.isfile(spec.label_file):
        try:
            ids = set(read_label_ids(spec.label_file))
        except ValueError as e:
            problems.append(AVAProblem(spec.label_file, str(e)))
    keyframes = _read_ann(spec.ann_file, spec, problems, ids)
    videos = {vid for vid, _ in keyframes}
    stats.update(videos=len(videos), keyframes=len(keyframes),
                 rows=sum(keyframes.values()))
    if not keyframes:
        problems.append(AVAProblem(spec.ann_file, 'no annotation rows',
                                   'use the AVA csv of this split'))
        return problems

    excluded = set()
    if spec.exclude_file and osp.isfile(spec.exclude_file):
        excluded = _read_exclusions(spec.exclude_file, problems)
        ex_videos = {vid for vid, _ in excluded}
        foreign = ex_videos - videos
        if ex_videos and not (ex_videos & videos):
            problems.append(AVAProblem(
                spec.exclude_file, f'none of its {len(ex_videos)} video ids '
                f'occurs in {spec.ann_file}: exclusions of another split?',
                f'use the {spec.split} exclusion file'))
        elif foreign:
            problems.append(AVAProblem(
                spec.exclude_file, f'{len(foreign)} video id(s) not in '
                f'{spec.ann_file}, e.g. {sorted(foreign)[:3]}',
                'check that annotation and exclusion files are of the same '
                'split and version', WARNING))
    used = {k for k in keyframes if k not in excluded}
    stats.update(excluded=len(set(keyframes) & excluded),
                 used_keyframes=len(used))

    if spec.proposal_file and osp.isfile(spec.proposal_file):
        props = _load_proposals(spec.proposal_file, problems)
        if props is not None:
            stats['proposals'] = len(props)
            covered = used & set(props)
            split_file = 'train' if spec.split == 'train' else 'val'
            stats['keyframes_with_proposals'] = len(covered)
            missing = sorted(used - covered)
            if not covered:
                problems.append(AVAProblem(
                    spec.proposal_file, f'no entries for any of the '
                    f'{len(used)} {spec.split} keyframes of {spec.ann_file} '
                    f'(it has {len(props)} entries for other keyframes)',
                    f'use the proposal file of the {spec.split} split, e.g. '
                    f'ava_dense_proposals_{split_file}.FAIR.recall_93.9.pkl'))
            elif missing:
                level = ERROR if spec.split != 'train' else WARNING
                problems.append(AVAProblem(
                    spec.proposal_file, f'{len(missing)} of {len(used)} '
                    f'{spec.split} keyframes have no proposals, e.g. '
                    f'{[f"{v},{t:04d}" for v, t in missing[:3]]}: mmaction2 '
                    'uses one whole-frame box for them',
                    'use the complete proposal file of this split', level))
            if spec.split != 'train' and props and covered:
                empty = [k for k in covered if props[k].shape[0] == 0]
                if empty:
                    problems.append(AVAProblem(
                        spec.proposal_file, f'{len(empty)} keyframe(s) with '
                        'an empty proposal array', 'regenerate proposals',
                        WARNING))

    if check_frames and spec.use_frames:
        problems += _frame_problems(spec, videos, frame_tolerance)
    return problems
