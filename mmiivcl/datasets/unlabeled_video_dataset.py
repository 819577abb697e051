"""Unlabeled video dataset for self-supervised pretraining.

Videos come from a list file (``path [label]`` per line) or from a recursive
folder scan. Labels are optional (``-1`` when absent) and only serve
monitoring (kNN, retrieval). In training, a video that cannot be used
(corrupted, 0-byte, missing, fewer than ``min_frames`` frames;
docs/design.md#unreadable-videos) is replaced by another random video: the file
is warned about once
per process and counted in a shared-memory record that DataLoader workers
update in place, so the main process (and a hook) can read the aggregated
count. In test mode nothing is dropped silently.
"""
import logging
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS

from ..utils.killable import (CallTimeout, HelperDied, KillableWorker,
                              RemoteError)
from .errors import (DecodeTimeoutError, InexactSeekError,
                     UnreadableVideosError, VideoDecodeError,
                     VideoTooShortError)
from .video_backends import (BACKENDS, FRAME_TMPL, FRAMES_META,
                             DecordReader, explain_open_failure,
                             open_reader, verify_seek, verify_seek_primed)
from .worker_seed import maybe_reseed_worker, seed_all

try:  # decord's own error class (not a RuntimeError subclass)
    from decord._ffi.base import DECORDError
except ImportError:  # pragma: no cover - decord missing
    class DECORDError(Exception):  # type: ignore[no-redef]
        """Placeholder when decord is not installed."""

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.mpg', '.mpeg',
                    '.m4v', '.flv', '.wmv', '.3gp', '.ogv', '.ts', '.gif')

#: Exceptions that mark a *video* as unusable (not a pipeline bug).
DECODE_ERRORS = (VideoDecodeError, DECORDError, RuntimeError, OSError)

# reason codes stored in the shared ``bad_mask`` (0 = not known bad)
REASON_MISSING, REASON_EMPTY, REASON_SHORT, REASON_DECODE = 1, 2, 3, 4
REASON_TIMEOUT, REASON_INEXACT, REASON_BACKEND = 5, 6, 7
REASON_NAMES = {
    REASON_MISSING: 'missing file',
    REASON_EMPTY: 'empty file (0 bytes)',
    REASON_SHORT: 'too few frames',
    REASON_DECODE: 'decode error',
    REASON_TIMEOUT: 'decode timed out',
    REASON_INEXACT: 'inexact seeking',
    REASON_BACKEND: 'needs a decoder the pipeline does not use',
}

# how a video is read, stored in the shared ``read_mode`` (0 = not decided):
# (backend, sequential_read, prime_read); ``prime_read``: random access is
# exact once the fresh reader has decoded frame 0, cheaper than a sequential
# read (see decide_read_mode)
READ_MODES = {1: ('decord', False, False), 2: ('decord', True, False),
              3: ('pyav', False, False), 4: ('pyav', True, False),
              5: ('frames', False, False), 6: ('decord', False, True)}
READ_MODE_NAMES = {1: 'decord', 2: 'decord (sequential)', 3: 'pyav',
                   4: 'pyav (sequential)', 5: 'frames',
                   6: 'decord (frame 0 first)'}
PRIMED_MODES = frozenset(k for k, v in READ_MODES.items() if v[2])
_MODE_OF = {v: k for k, v in READ_MODES.items()}
#: backends with a frame-0-first read mode (the seek check tries it)
_PRIMABLE = frozenset(READ_MODES[k][0] for k in PRIMED_MODES)
INEXACT_POLICIES = ('sequential', 'skip', 'trust')
_NUM_SLOTS = 256  # event-counter slots: 0 = main process, 1.. = workers


# decord prefixes messages with "[hh:mm:ss] /path/to/source.cc:123: "
_DECORD_PREFIX = re.compile(r'\[\d\d:\d\d:\d\d\] \S+?:\d+: ')


def _seek_check(reader, reopen: Callable, path: str, backend: str,
                num: int) -> Tuple[Optional[Tuple[int, int]], Optional[str]]:
    """``(wrong, primed)``: :func:`verify_seek` on a fresh ``reader`` and,
    for an inexact file of a backend with a frame-0-first read mode, the
    verdict of that read (``'exact'`` or ``'inexact seeking: ...'``;
    ``None``: not asked), from one sequential decode
    (:func:`verify_seek_primed`)."""
    if backend not in _PRIMABLE:
        return verify_seek(reader, path, num, reopen=reopen), None
    wrong, wrong_primed = verify_seek_primed(reader, reopen, path, num)
    return wrong, None if wrong is None else (
        _inexact_message(wrong_primed) or 'exact')


def _inexact_message(wrong: Optional[Tuple[int, int]]) -> Optional[str]:
    """The verdict line of a :func:`verify_seek` result (``None``: exact)."""
    return None if wrong is None else (
        f'inexact seeking: frame {wrong[0]} returned frame {wrong[1]}')


def _short(exc: BaseException, limit: int = 200) -> str:
    """One-line description of an exception (decord's are multi-line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = _DECORD_PREFIX.sub('', lines[0]) if lines else ''
    if isinstance(exc, RemoteError):  # already "Type: message"
        return text[:limit]
    if len(text) > limit:
        text = text[:limit] + '...'
    return f'{type(exc).__name__}: {text}' if text else type(exc).__name__


def meta_int(value) -> int:
    """An int metadata value: ints as they are, a one-element list
    unwrapped, anything else (missing, several shots) -1."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return -1


def classify_failure(path: str, exc: BaseException) -> Tuple[int, str]:
    """Reason code and human-readable reason for a failed video."""
    if isinstance(exc, VideoTooShortError):
        return REASON_SHORT, exc.reason
    if isinstance(exc, DecodeTimeoutError):
        return REASON_TIMEOUT, exc.reason
    if isinstance(exc, InexactSeekError):
        return (REASON_BACKEND if exc.verdict.startswith('needs')
                else REASON_INEXACT), exc.reason
    if isinstance(exc, FileNotFoundError):
        return REASON_MISSING, 'missing file'
    try:
        if osp.isfile(path) and osp.getsize(path) == 0:
            return REASON_EMPTY, 'empty file (0 bytes)'
    except OSError:
        pass
    if type(exc) is VideoDecodeError:  # ours: the reason is the message
        return REASON_DECODE, exc.reason
    return REASON_DECODE, _short(exc)


@DATASETS.register_module()
class UnlabeledVideoDataset(BaseActionDataset):
    """Videos for self-supervised pretraining, labels optional.

    Sources:
        - list file (``ann_file``): one video per line, ``path [label]``,
          path relative to ``data_prefix['video']`` (absolute paths are kept),
          integer label optional (``-1`` when absent); blank lines and lines
          starting with ``#`` are ignored.
        - folder scan (``ann_file`` ``None`` or ``''``): every file under
          ``data_prefix['video']`` (recursively, sorted) whose extension is in
          ``extensions``. With ``folder_labels=True`` the first-level
          sub-folder names (sorted) become labels 0..C-1.

    Each data info holds ``filename`` (full path) and ``label`` (int); mmengine
    adds ``sample_idx`` (the dataset index = video index).

    Robustness (training, ``test_mode=False``): if the pipeline raises one of
    ``skip_exceptions`` (decord's DECORDError, RuntimeError, OSError such as a
    missing file, :class:`VideoTooShortError` from ``SampleClipPair``), the
    video is marked bad, warned about once per process (path + reason) and
    replaced by a uniformly drawn video not yet known bad; known-bad videos are
    not opened again. After ``max_refetch`` failed replacements, or when every
    video is known bad, :class:`UnreadableVideosError` lists the failing paths.

    Counters live in shared memory (torch tensors), so DataLoader workers
    (fork or spawn) update the main process's copy:
        - ``bad_mask``: uint8 (len(dataset),), reason code per video (0 = ok
          or not yet tried). A hook aggregates over ranks with
          ``all_reduce(bad_mask, op=MAX)``.
        - ``num_skipped``: distinct videos skipped so far (this process and
          its workers); ``num_skip_events``: replacements made (a bad video
          drawn again in a later epoch counts again).
        - ``bad_files`` / ``skip_report()``: paths with reasons.

    Hung decodes (``decode_timeout``): decord can hang inside
    native code while holding the GIL (dmlc/decord#373), which nothing inside
    the decoding process can interrupt. With ``decode_timeout=S`` every sample
    is prepared in a helper process forked once per DataLoader worker
    (:class:`~mmiivcl.utils.killable.KillableWorker`); a sample not ready
    after ``S`` seconds gets its helper killed, is recorded as bad with the
    reason "decode timed out" and is replaced like any other bad video. The
    helper draws its random numbers from a seed taken from the worker's
    generator, so seeded runs stay reproducible. Costs one pickling of the
    sample per item (about 1 ms per MB); the pipeline's output must be
    picklable, which a complete pipeline (ending in ``PackActionInputs``) is.

    Test mode: a failing video raises :class:`UnreadableVideosError` naming
    it. With ``allow_skip_in_test=True`` every video is checked once when the
    dataset initialises (opened with decord, at least ``min_frames`` frames);
    failing ones are excluded up front, logged and listed in ``excluded``, so
    the evaluation can report them next to its metric.

    Args:
        ann_file: list file, or ``None`` / ``''`` for a folder scan.
        pipeline: data transforms.
        data_prefix: ``dict(video=ROOT)``.
        test_mode: evaluation mode (never skip silently).
        min_frames: fewest frames a usable video has (for the pre-flight of
            ``allow_skip_in_test``; the sampler has its own ``min_frames``).
        extensions: video extensions for the folder scan (case-insensitive).
        folder_labels: derive labels from first-level sub-folders.
        delimiter: list-file field separator (``None``: whitespace).
        skip_exceptions: exception types that mark a video as bad.
        allow_skip_in_test: see above.
        max_refetch: replacements tried for one index before raising.
        decode_timeout: seconds one sample may take before its (helper)
            decoding process is killed and the video counted as bad;
            ``None`` (default) decodes in-process without a limit.
        video_backend: decoder of the pipeline, ``'decord'`` (default),
            ``'pyav'`` or ``'frames'`` (JPEG frame folders written by
            ``tools/data/prepare_videos.py --frames``; list paths and the
            folder scan then name folders), read by :class:`VideoInit`.
        fallback_backend: decoder used for a file ``video_backend`` cannot
            open (e.g. ``'pyav'`` for AV1 and GIF); ``None``: such files are
            skipped and counted.
        inexact_seek: what to do with a file whose random access returns
            other frames than a sequential decode (checked once per file on
            first use, ``seek_check`` frames, verdict shared by all workers
            and kept for every epoch): ``'sequential'`` (default) reads it
            by decoding from the first frame (exact, slower),
            ``'skip'`` skips and counts it, ``'trust'`` checks nothing (the
            behaviour of mmaction2's readers). A pipeline whose decode step
            cannot read sequentially (mmaction2's ``DecordDecode``) skips
            such files whatever the policy says; mmaction2's
            ``DecordDecode`` (``mode='accurate'``) is read with
            :class:`DecordDecodeClips` (same pixels) unless ``'trust'``.
        seek_check: frames compared per file (see ``inexact_seek``).
        seek_verdicts: ``check_report.json`` of ``tools/check_videos.py``;
            its per-file ``seek`` verdicts are used instead of checking the
            files again.
        meta_file: JSON file with per-video metadata: a list of dicts, or a
            dict whose ``'videos'`` entry is one (the generator's
            ``manifest.json``), each with ``'path'`` (relative to
            ``data_prefix['video']``, as in the list file) and fields.
        meta_fields: fields of ``meta_file`` copied into each data info
            (int; a one-element list, such as the generator's per-shot
            ``looks`` of a one-shot video, is unwrapped; missing or
            ambiguous = -1). Diagnostics read them, e.g. the NN statistics'
            scene agreement (``NNQueueStatsHook(meta_fields=...)``).
        **kwargs: forwarded to mmaction2's ``BaseActionDataset``.
    """

    #: calls :func:`~mmiivcl.datasets.worker_seed.maybe_reseed_worker`, so
    #: persistent DataLoader workers are re-seeded every epoch
    reseeds_persistent_workers = True

    def __init__(self,
                 ann_file: Optional[str] = '',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 data_prefix: Optional[Dict[str, str]] = None,
                 test_mode: bool = False,
                 min_frames: int = 8,
                 extensions: Sequence[str] = VIDEO_EXTENSIONS,
                 folder_labels: bool = False,
                 delimiter: Optional[str] = None,
                 skip_exceptions: Sequence[type] = DECODE_ERRORS,
                 allow_skip_in_test: bool = False,
                 max_refetch: int = 100,
                 decode_timeout: Optional[float] = None,
                 video_backend: str = 'decord',
                 fallback_backend: Optional[str] = None,
                 inexact_seek: str = 'sequential',
                 seek_check: int = 4,
                 seek_verdicts: Optional[str] = None,
                 meta_file: Optional[str] = None,
                 meta_fields: Sequence[str] = (),
                 **kwargs) -> None:
        for key, value, allowed in (
                ('video_backend', video_backend, BACKENDS),
                ('fallback_backend', fallback_backend, BACKENDS + (None, )),
                ('inexact_seek', inexact_seek, INEXACT_POLICIES)):
            if value not in allowed:
                raise ValueError(
                    f'UnlabeledVideoDataset.{key}={value!r}: choose one of '
                    f'{allowed}')
        self.video_backend = video_backend
        self.fallback_backend = fallback_backend
        self.inexact_seek = inexact_seek
        self.seek_check = int(seek_check)
        self._seek_verdicts = load_seek_verdicts(seek_verdicts)
        if meta_fields and not meta_file:
            raise ValueError(
                f'UnlabeledVideoDataset.meta_fields={tuple(meta_fields)} '
                'needs meta_file (a JSON list of {"path": ..., field: ...}, '
                "e.g. the generator's manifest.json)")
        self.meta_file = meta_file
        self.meta_fields = tuple(meta_fields)
        self.read_mode = torch.zeros(0, dtype=torch.uint8)
        if decode_timeout is not None and decode_timeout <= 0:
            raise ValueError(
                f'UnlabeledVideoDataset.decode_timeout={decode_timeout} must '
                'be > 0 seconds, or None to decode without a time limit.')
        self.decode_timeout = decode_timeout
        self.min_frames = int(min_frames)
        self.extensions = tuple(e.lower() for e in extensions)
        self.folder_labels = bool(folder_labels)
        self.delimiter = delimiter
        self.skip_exceptions = tuple(skip_exceptions)
        self.allow_skip_in_test = bool(allow_skip_in_test)
        self.class_names: Optional[List[str]] = None
        self.excluded: List[Tuple[str, str]] = []
        self._bad_reasons: Dict[str, str] = {}  # this process only
        self._warned: set = set()  # this process only
        self.bad_mask = torch.zeros(0, dtype=torch.uint8)
        self._skip_events = torch.zeros(_NUM_SLOTS, dtype=torch.int64)
        # Transforms given by name resolve in mmaction2's registry even when
        # the dataset is built outside a Runner (no default scope set yet).
        scope = None if DefaultScope.get_current_instance() else 'mmaction'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(
                ann_file or '',
                pipeline=list(pipeline),
                data_prefix=dict(video='') if data_prefix is None else
                data_prefix,
                test_mode=test_mode,
                max_refetch=max_refetch,
                **kwargs)
        from mmaction.datasets.transforms import DecordInit
        opens_with_decord = any(
            isinstance(t, DecordInit)
            for t in getattr(self.pipeline, 'transforms', []))
        if self.video_backend != 'decord' and opens_with_decord:
            raise ValueError(
                f'UnlabeledVideoDataset.video_backend={video_backend!r} '
                "needs a pipeline that opens it: replace mmaction2's "
                "DecordInit by dict(type='VideoInit')")
        if self.inexact_seek != 'trust':
            self._exact_decode_steps()

    def _exact_decode_steps(self) -> None:
        """Read mmaction2's ``DecordDecode`` (``mode='accurate'``) steps
        with :class:`DecordDecodeClips`: the same pixels at the same
        indices (one sorted read), and sequential reading for a file whose
        seeking is inexact. ``mode='efficient'`` (key frames only) is kept
        as configured; inexact files are then skipped."""
        from .transforms import DecordDecodeClips
        ts = getattr(self.pipeline, 'transforms', None)
        if not ts:
            return
        for i, t in enumerate(ts):
            if type(t).__name__ == 'DecordDecode' and \
                    getattr(t, 'mode', 'accurate') == 'accurate':
                ts[i] = DecordDecodeClips()

    # ------------------------------------------------------------------
    # annotation loading
    @property
    def video_root(self) -> str:
        return self.data_prefix.get('video', '') or ''

    def load_data_list(self) -> List[dict]:
        """Parse the list file or scan the folder; see the class doc."""
        if self.ann_file:
            data_list = self._load_list_file()
        else:
            data_list = self._scan_folder()
        if self.meta_fields:
            self._add_meta(data_list)
        return data_list

    def _add_meta(self, data_list: List[dict]) -> None:
        """Copy ``meta_fields`` of ``meta_file`` into the data infos."""
        import json
        if not osp.isfile(self.meta_file):
            raise FileNotFoundError(
                f'UnlabeledVideoDataset.meta_file={self.meta_file!r} not '
                'found; point it at a JSON list of per-video dicts')
        with open(self.meta_file, encoding='utf-8') as f:
            meta = json.load(f)
        if isinstance(meta, dict):
            meta = meta.get('videos')
        if not isinstance(meta, list):
            raise ValueError(
                f'UnlabeledVideoDataset.meta_file={self.meta_file!r}: expected '
                'a list of per-video dicts (or a dict with a "videos" list)')
        by_path = {osp.normpath(osp.join(self.video_root, str(m['path']))): m
                   for m in meta if isinstance(m, dict) and 'path' in m}
        for info in data_list:
            m = by_path.get(osp.normpath(info['filename']), {})
            for key in self.meta_fields:
                info[key] = meta_int(m.get(key))

    def _load_list_file(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'UnlabeledVideoDataset: list file {self.ann_file} not found')
        data_list = []
        with open(self.ann_file, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                parts = line.split(self.delimiter)
                label = -1
                if len(parts) > 1:
                    try:
                        label = int(parts[-1])
                        parts = parts[:-1]
                    except ValueError:
                        pass  # no label: the whole line is the path
                sep = ' ' if self.delimiter is None else self.delimiter
                path = sep.join(parts).strip()
                if not path:
                    raise ValueError(f'{self.ann_file}:{lineno}: no path in '
                                     f'line {line!r}')
                data_list.append(
                    dict(filename=osp.join(self.video_root, path),
                         label=label))
        return data_list

    def _scan_folder(self) -> List[dict]:
        root = self.video_root
        if not root or not osp.isdir(root):
            raise FileNotFoundError(
                'UnlabeledVideoDataset: without ann_file, '
                "data_prefix['video'] must be an existing folder, got "
                f'{root!r}')
        rel_paths = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            if self.video_backend == 'frames':  # frame folders, not files
                if FRAMES_META in filenames or \
                        FRAME_TMPL.format(1) in filenames:
                    rel_paths.append(osp.relpath(dirpath, root))
                    dirnames[:] = []
                continue
            for name in filenames:
                if name.startswith('.'):
                    continue
                if osp.splitext(name)[1].lower() in self.extensions:
                    rel_paths.append(
                        osp.relpath(osp.join(dirpath, name), root))
        rel_paths.sort()
        if self.folder_labels:
            self.class_names = sorted(
                {p.split(os.sep)[0] for p in rel_paths if os.sep in p})
            index = {c: i for i, c in enumerate(self.class_names)}
        data_list = []
        for rel in rel_paths:
            label = -1
            if self.folder_labels and os.sep in rel:
                label = index[rel.split(os.sep)[0]]
            data_list.append(dict(filename=osp.join(root, rel), label=label))
        return data_list

    def full_init(self) -> None:
        """Load the list, pre-check it if asked, allocate shared counters."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.test_mode and self.allow_skip_in_test:
            self._exclude_unreadable()
        self._reset_skip_state()

    def _exclude_unreadable(self) -> None:
        """Pre-flight for ``allow_skip_in_test``: drop and list bad videos."""
        keep, excluded = [], []
        for i in range(len(self)):
            info = self.get_data_info(i)
            reason = check_video(info['filename'], self.min_frames,
                                 timeout=self.decode_timeout,
                                 backend=self.video_backend)
            if reason is None:
                keep.append(i)
            else:
                excluded.append((info['filename'], reason))
        self.excluded = excluded
        if excluded:
            print_log(
                f'UnlabeledVideoDataset (test mode): excluded '
                f'{len(excluded)} of {len(self)} videos that cannot be '
                'decoded:\n' + '\n'.join(f'  {p}: {r}' for p, r in excluded),
                logger='current', level=logging.WARNING)
            self.get_subset_(keep)

    def get_subset_(self, indices) -> None:  # noqa: D102 (mmengine's)
        super().get_subset_(indices)
        self._reset_skip_state()

    def get_subset(self, indices) -> 'UnlabeledVideoDataset':  # noqa: D102
        sub = super().get_subset(indices)
        sub._reset_skip_state()
        return sub

    # ------------------------------------------------------------------
    # skip bookkeeping
    def _reset_skip_state(self) -> None:
        n = len(self) if self._fully_initialized else 0
        self.bad_mask = torch.zeros(n, dtype=torch.uint8).share_memory_()
        self.read_mode = torch.zeros(n, dtype=torch.uint8).share_memory_()
        self._skip_events = torch.zeros(
            _NUM_SLOTS, dtype=torch.int64).share_memory_()
        self._bad_reasons = {}
        self._warned = set()

    @staticmethod
    def _slot() -> int:
        info = torch.utils.data.get_worker_info()
        return 0 if info is None else 1 + info.id % (_NUM_SLOTS - 1)

    @property
    def num_skipped(self) -> int:
        """Distinct videos skipped so far (this process and its workers)."""
        return int((self.bad_mask > 0).sum())

    @property
    def num_skip_events(self) -> int:
        """Samples replaced so far (repeated draws of a bad video count)."""
        return int(self._skip_events.sum())

    @property
    def bad_files(self) -> List[str]:
        """Paths of the videos known bad (all workers of this process)."""
        idx = torch.nonzero(self.bad_mask, as_tuple=False).flatten().tolist()
        return [self.get_data_info(i)['filename'] for i in idx]

    def skip_report(self) -> List[Tuple[str, str]]:
        """``(path, reason)`` for every known-bad video.

        The detailed reason is known where the failure happened (this
        process); for failures seen in workers the reason category is given.
        """
        out = []
        for i in torch.nonzero(self.bad_mask).flatten().tolist():
            path = self.get_data_info(i)['filename']
            code = int(self.bad_mask[i])
            out.append((path, self._bad_reasons.get(
                path, REASON_NAMES.get(code, 'unknown'))))
        return out

    def read_counts(self) -> Dict[str, int]:
        """How the videos decided so far are read (this process and its
        workers): ``{'decord': n, 'pyav (sequential)': m, ...}``."""
        codes = self.read_mode
        return {READ_MODE_NAMES[c]: int((codes == c).sum())
                for c in READ_MODE_NAMES if int((codes == c).sum())}

    # ------------------------------------------------------------------
    # how each file is read: backend, fallback, verified seeking
    @property
    def pipeline_reads_exactly(self) -> bool:
        """Whether the pipeline honours ``video_backend`` and
        ``sequential_read`` (:class:`VideoInit` / :class:`DecordDecodeClips`
        do; mmaction2's ``DecordInit`` / ``DecordDecode`` do not)."""
        cached = self.__dict__.get('_reads_exactly')
        if cached is None:
            ts = list(getattr(self.pipeline, 'transforms', []))
            cached = any(getattr(t, 'reads_exactly', False) for t in ts)
            self._reads_exactly = cached
        return cached

    @property
    def pipeline_opens_backends(self) -> bool:
        ts = list(getattr(self.pipeline, 'transforms', []))
        return any(getattr(t, 'opens_backends', False) for t in ts)

    def decide_read_mode(self, path: str) -> int:
        """Open ``path`` (falling back to ``fallback_backend``), verify its
        seeking unless ``inexact_seek='trust'``, return a ``READ_MODES``
        code. Raises what makes the file unusable (the caller skips it)."""
        reader, backend, first_exc = None, None, None
        names = [self.video_backend]
        if self.fallback_backend and self.fallback_backend not in names:
            names.append(self.fallback_backend)
        for name in names:
            try:
                reader = open_reader(path, name)
                backend = name
                break
            except Exception as exc:  # noqa: BLE001 - decided below
                first_exc = first_exc or exc
        if reader is None:
            if not osp.exists(path):
                raise FileNotFoundError(path)
            raise VideoDecodeError(
                path, 'cannot open: ' + explain_open_failure(
                    path, self.video_backend, _short(first_exc)))
        if backend != self.video_backend and not self.pipeline_opens_backends:
            raise InexactSeekError(
                path, f'needs backend {backend!r}, but the pipeline opens '
                'videos with mmaction2\'s DecordInit: use VideoInit')
        sequential, primed = False, False
        if self.inexact_seek != 'trust' and \
                not getattr(reader, 'exact_seek', False):
            verdict = self._seek_verdicts.get(osp.abspath(path))
            if verdict is None or verdict[0] != backend or (
                    verdict[1] is not None and backend in _PRIMABLE and
                    verdict[2] is None):  # a report without the primed check
                verdict = self._check_seek(reader, path, backend)
            if verdict[1] is not None:
                if self.inexact_seek == 'skip':
                    raise InexactSeekError(path, verdict[1] + " (dataset "
                                           "inexact_seek='skip')")
                if not self.pipeline_reads_exactly:
                    raise InexactSeekError(
                        path, verdict[1] + ': the pipeline cannot read '
                        'sequentially (use DecordDecodeClips)')
                # frame 0 first, then the seeks are exact; else from frame 0
                primed = backend in _PRIMABLE and bool(verdict[2])
                sequential = not primed
        del reader
        return _MODE_OF[(backend, sequential, primed)]

    def _check_seek(self, reader, path: str, backend: str
                    ) -> Tuple[str, Optional[str], Optional[bool]]:
        """``(backend, None | 'inexact seeking: ...', primed_exact)`` for a
        fresh ``reader``. A decord file that seeks inexactly is checked
        again with frame 0 decoded first (``misc/cockatoo.mp4`` of the
        shared data: garbage on a first seek, exact after frame 0), against
        the same sequential decode; such a file is read at the cost of a
        seek plus one frame instead of a decode from frame 0."""
        if len(reader) < 2:
            return backend, None, None
        wrong, primed = _seek_check(
            reader, lambda: open_reader(path, backend), path, backend,
            self.seek_check)
        return (backend, _inexact_message(wrong),
                None if primed is None else primed == 'exact')

    def prepare_data(self, idx: int):
        """The pipeline on ``idx``, told how to read the file
        (``video_backend``, ``sequential_read``); see ``inexact_seek``."""
        if self.inexact_seek == 'trust' and self.fallback_backend is None \
                and self.video_backend == 'decord':
            return super().prepare_data(idx)  # mmaction2's behaviour
        info = self.get_data_info(idx)
        code = int(self.read_mode[idx]) if idx < len(self.read_mode) else 0
        if code == 0:
            code = self.decide_read_mode(info['filename'])
            if idx < len(self.read_mode):
                self.read_mode[idx] = code
        (info['video_backend'], info['sequential_read'],
         info['prime_read']) = READ_MODES[code]
        return self.pipeline(info)

    def mark_bad(self, idx: int, code: int, reason: Optional[str] = None
                 ) -> None:
        """Record ``idx`` as known bad without opening it (e.g. the list
        restored from a checkpoint by :class:`SkipStatsHook`)."""
        if not 0 < int(code) < 256:
            raise ValueError(f'reason code must be in 1..255, got {code}')
        self.bad_mask[idx] = int(code)
        if reason:
            self._bad_reasons[self.get_data_info(idx)['filename']] = reason

    # ------------------------------------------------------------------
    # preparing a sample, optionally in a killable helper process
    def _prepare(self, idx: int):
        """``prepare_data(idx)``; in a killable helper when
        ``decode_timeout`` is set (see the class docstring)."""
        if self.decode_timeout is None:
            return self.prepare_data(idx)
        seed = int(np.random.randint(0, 2**31 - 1))
        helper = self.__dict__.get('_killable')
        if helper is None or helper.timeout != self.decode_timeout:
            helper = KillableWorker(self._prepare_seeded,
                                    timeout=self.decode_timeout,
                                    on_start=_helper_start)
            self._killable = helper  # forked copies re-fork their own
        try:
            return helper(idx, seed)
        except CallTimeout:
            raise DecodeTimeoutError(self.get_data_info(idx)['filename'],
                                     self.decode_timeout) from None
        except HelperDied as exc:
            raise VideoDecodeError(
                self.get_data_info(idx)['filename'],
                'the decoding process died (crash in native code)') from exc

    def __getstate__(self) -> dict:
        # the decode helper (pipes, a pid) belongs to this process only
        state = self.__dict__.copy()
        state.pop('_killable', None)
        return state

    def _prepare_seeded(self, idx: int, seed: int):
        """Runs in the helper: seed the generators, run the pipeline."""
        seed_all(seed)
        return self.prepare_data(idx)

    def _record_bad(self, idx: int, path: str, exc: BaseException) -> str:
        code, reason = classify_failure(path, exc)
        self.bad_mask[idx] = code
        self._skip_events[self._slot()] += 1
        self._bad_reasons[path] = reason
        if path not in self._warned:
            self._warned.add(path)
            print_log(
                f'UnlabeledVideoDataset: skipping {path} ({reason}); '
                f'{self.num_skipped} video(s) skipped so far',
                logger='current', level=logging.WARNING)
        return reason

    def _draw_replacement(self) -> Optional[int]:
        """A uniformly random index not known bad (``None`` if none left)."""
        for _ in range(8):  # cheap path: mostly good data
            idx = int(np.random.randint(0, len(self)))
            if self.bad_mask[idx] == 0:
                return idx
        candidates = np.flatnonzero(self.bad_mask.numpy() == 0)
        if candidates.size == 0:
            return None
        return int(candidates[np.random.randint(0, candidates.size)])

    # ------------------------------------------------------------------
    def __getitem__(self, idx: int) -> dict:
        """Pipeline output for ``idx``; in training a bad video is replaced.

        Raises:
            UnreadableVideosError: in test mode when the video fails; in
                training when no usable video is found.
        """
        if not self._fully_initialized:
            self.full_init()
        maybe_reseed_worker(self)  # persistent workers: new epoch, new seed
        if idx < 0:
            idx += len(self)
        if self.test_mode:
            try:
                data = self._prepare(idx)
            except self.skip_exceptions as exc:
                path = self.get_data_info(idx)['filename']
                _, reason = classify_failure(path, exc)
                raise UnreadableVideosError(
                    [(path, reason)],
                    'UnlabeledVideoDataset (test mode) cannot decode a video; '
                    'evaluation never drops samples silently (pre-check with '
                    'allow_skip_in_test=True to exclude and report them; '
                    'tools/check_videos.py lists every unreadable file)'
                ) from exc
            if data is None:
                raise UnreadableVideosError(
                    [(self.get_data_info(idx)['filename'],
                      'pipeline returned None')],
                    'UnlabeledVideoDataset (test mode)')
            return data

        failures: List[Tuple[str, str]] = []
        for _ in range(self.max_refetch + 1):
            if self.bad_mask[idx] != 0:  # known bad: do not open it again
                self._skip_events[self._slot()] += 1
                path = self.get_data_info(idx)['filename']
                failures.append((path, self._bad_reasons.get(
                    path, REASON_NAMES.get(int(self.bad_mask[idx]), '?'))))
            else:
                try:
                    data = self._prepare(idx)
                except self.skip_exceptions as exc:
                    path = self.get_data_info(idx)['filename']
                    failures.append((path, self._record_bad(idx, path, exc)))
                else:
                    if data is not None:
                        return data
                    failures.append((self.get_data_info(idx)['filename'],
                                     'pipeline returned None'))
            nxt = self._draw_replacement()
            if nxt is None:
                report = self.skip_report()
                if report and all(r == 'missing file' for _, r in report):
                    raise UnreadableVideosError(
                        report[:10], 'UnlabeledVideoDataset: every video is '
                        'missing: data_prefix='
                        f'{self.data_prefix!r} or ann_file='
                        f'{self.ann_file!r} is wrong')
                raise UnreadableVideosError(
                    report,
                    'UnlabeledVideoDataset: every video failed to decode')
            idx = nxt
        raise UnreadableVideosError(
            sorted(set(failures)),
            f'UnlabeledVideoDataset: no usable video after '
            f'{self.max_refetch} replacements')


def _helper_start() -> None:
    torch.set_num_threads(1)


def load_seek_verdicts(report: Optional[str]
                       ) -> Dict[str, Tuple[str, Optional[str],
                                            Optional[bool]]]:
    """``abspath -> (backend, None | 'inexact seeking: ...', primed_exact)``
    from a ``check_report.json`` of ``tools/check_videos.py`` (empty for
    None). ``primed_exact``: whether an inexact file seeks exactly once
    frame 0 is decoded (``seek_primed``; ``None`` when the report has no
    such verdict, e.g. for PyAV or from an older report)."""
    if not report:
        return {}
    import json
    if not osp.isfile(report):
        raise FileNotFoundError(
            f'UnlabeledVideoDataset.seek_verdicts={report!r} not found (a '
            'check_report.json written by tools/check_videos.py)')
    with open(report, encoding='utf-8') as f:
        results = json.load(f).get('results', [])
    out = {}
    for r in results:
        if r.get('ok') and r.get('seek') and r.get('backend'):
            primed = r.get('seek_primed')
            out[osp.abspath(r['path'])] = (
                r['backend'], None if r['seek'] == 'exact' else r['seek'],
                None if primed is None else primed == 'exact')
    return out


def probe_video(path: str, min_frames: int = 8, num_probe: int = 4,
                backend: str = 'decord',
                fallback_backend: Optional[str] = None,
                seek_check: int = 0) -> dict:
    """Open ``path`` with ``backend`` and decode ``num_probe`` frames spread
    over the video, the first and the *last* included (containers can
    over-report their frame count, dmlc/decord#373 / #2, and files can break
    late).

    Args:
        path: the video.
        min_frames: fewest frames a usable video has.
        num_probe: frames decoded, first to last.
        backend: ``'decord'``, ``'pyav'`` or ``'frames'`` (a JPEG frame
            folder; :mod:`..video_backends`).
        fallback_backend: tried when ``backend`` cannot open the file.
        seek_check: random-access frames compared with a sequential decode
            (:func:`~mmiivcl.datasets.video_backends.verify_seek`); 0 skips.

    Returns:
        dict: ``ok`` (bool), ``reason`` (None or why the video is unusable),
        ``num_frames`` (the backend's count, -1 when it could not be
        opened), ``backend`` (the one that read it, or ``None``), ``seek``
        (``None`` unchecked, ``'exact'``, or ``'inexact seeking: frame i
        returned frame j'``) and, for a decord file that seeks inexactly,
        ``seek_primed`` (the same verdict with frame 0 decoded first: when
        ``'exact'``, the dataset reads the file that way, not from frame 0).
    """
    out = dict(ok=False, reason=None, num_frames=-1, backend=None, seek=None)
    if backend == 'frames':
        if not osp.isdir(path):
            out['reason'] = ('missing frame folder' if not osp.exists(path)
                             else 'is a file, not a frame folder')
            return out
    elif osp.isdir(path):
        out['reason'] = 'is a directory, not a video file'
        return out
    if not osp.exists(path):
        out['reason'] = 'missing file'
        return out
    if osp.isfile(path) and osp.getsize(path) == 0:
        out['reason'] = 'empty file (0 bytes)'
        return out
    reader, first_error = None, None
    for name in [backend] + ([fallback_backend] if fallback_backend and
                             fallback_backend != backend else []):
        try:
            reader = open_reader(path, name, num_threads=1)
            out['backend'] = name
            break
        except Exception as exc:  # noqa: BLE001 - any failure: unusable
            if first_error is None:
                first_error = explain_open_failure(path, name, _short(exc))
    if reader is None:
        out['reason'] = f'cannot open: {first_error}'
        return out
    n = len(reader)
    out['num_frames'] = n
    if n < min_frames:
        out['reason'] = (f'only {n} frame(s), fewer than '
                         f'min_frames={min_frames}')
        return out
    probes = sorted({int(round(x)) for x in
                     np.linspace(0, n - 1, max(2, int(num_probe)))})
    for i in probes:
        try:
            reader.read([i])
        except Exception as exc:  # noqa: BLE001
            out['reason'] = f'frame {i} of {n} does not decode: {_short(exc)}'
            return out
    if seek_check:
        try:
            # a fresh reader, as the dataset's check: decord's random access
            # depends on what the reader decoded before
            del reader
            reader = open_reader(path, out['backend'], num_threads=1)
            wrong, primed = _seek_check(
                reader, lambda: open_reader(path, out['backend'],
                                            num_threads=1),
                path, out['backend'], int(seek_check))
        except Exception as exc:  # noqa: BLE001
            out['reason'] = f'sequential decode fails: {_short(exc)}'
            return out
        out['seek'] = _inexact_message(wrong) or 'exact'
        if primed is not None:
            out['seek_primed'] = primed
    if isinstance(reader, DecordReader):
        try:
            reader.reader.seek(0)  # decord#157: stop background decoding
        except Exception:  # noqa: BLE001
            pass
    del reader
    out['ok'] = True
    return out


def check_video(path: str, min_frames: int = 8, num_probe: int = 4,
                timeout: Optional[float] = None,
                backend: str = 'decord') -> Optional[str]:
    """Whether ``path`` is usable (see :func:`probe_video`).

    Args:
        path: video file.
        min_frames: fewest frames a usable video has.
        num_probe: frames decoded, spread from the first to the last.
        timeout: seconds allowed, checked in a killable helper process
            (``None``: in this process, no limit).
        backend: reader to check with (:data:`~.video_backends.BACKENDS`).

    Returns:
        ``None`` if the video is usable, else the reason.
    """
    if timeout is None:
        return probe_video(path, min_frames, num_probe, backend)['reason']
    worker = KillableWorker(probe_video, timeout=timeout)
    try:
        return worker(path, min_frames, num_probe, backend)['reason']
    except CallTimeout:
        return f'decode timed out after {timeout:g} s'
    except Exception as exc:  # noqa: BLE001
        return _short(exc)
    finally:
        worker.close()
