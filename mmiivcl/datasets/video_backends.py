"""Video readers behind one interface: decord (default), PyAV, and JPEG
frame folders (mmaction2's "rawframes", the cheapest storage to decode).

Every reader has ``len(reader)`` and ``read(indices, sequential)``, which
takes *sorted, unique* frame indices and returns an ``(N, H, W, 3)`` uint8
RGB array: ``sequential=False`` seeks (fast, but exact only where the
container's timestamps are right), ``sequential=True`` decodes from the first
frame on and counts frames (always the frame at that position in decode
order, the reference every seek is checked against).

Why per-file verification: no decoder seeks exactly on every file. On an
MPEG-4 AVI whose packets carry no timestamps decord, PyAV and torchcodec all
return other frames than asked; on the shared MPEG-2 program stream decord's
seek returns other frames than its sequential decode. :func:`verify_seek`
compares a few random-access frames with the sequential decode of the same
file and backend (libraries convert to RGB slightly differently, so a
backend is only compared with itself).
"""
import os
import os.path as osp
import zlib
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

#: backends that :func:`open_reader` knows (config values)
BACKENDS = ('decord', 'pyav', 'frames')
#: what to install for a backend (error messages, docs)
INSTALL_HINT = {'decord': 'pip install decord==0.6.0',
                'pyav': "pip install -e '.[pyav]', i.e. PyAV",
                'frames': 'opencv-python-headless (installed with mmcv)'}
#: file names in a frame folder (mmaction2's rawframes: 1-based)
FRAME_TMPL = 'img_{:05d}.jpg'
#: the frame folder's record, written last (frame count, fps, size)
FRAMES_META = 'frames.json'
#: codecs decord 0.6.0 cannot open (it reports "cannot find video stream")
DECORD_UNSUPPORTED = ('av1', 'gif', 'apng', 'webp')
#: FFmpeg decoder name -> codec name
_CODEC_OF_DECODER = {'libdav1d': 'av1', 'libaom-av1': 'av1', 'av1': 'av1'}
#: re-encode command given for files no backend reads exactly
REENCODE = ('ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p -crf 18 -g 32 '
            'OUT.mp4')


class BackendUnavailable(ImportError):
    """The library of a configured backend is not installed."""


def _as_numpy(batch) -> np.ndarray:
    """decord NDArray -> numpy without a copy (DLPack), else ``asnumpy``."""
    try:
        from torch.utils.dlpack import from_dlpack
        return from_dlpack(batch.to_dlpack()).numpy()
    except Exception:  # pragma: no cover - no torch / old decord
        return batch.asnumpy()


class DecordReader:
    """decord ``VideoReader`` with the ``read`` interface.

    Args:
        path: video file (or a file-like object).
        num_threads: decoder threads.
        reader: an already open ``decord.VideoReader`` to wrap (e.g. the one
            mmaction2's ``DecordInit`` opened).
    """

    name = 'decord'

    def __init__(self, path=None, num_threads: int = 1, reader=None) -> None:
        if reader is None:
            import decord
            reader = decord.VideoReader(path, num_threads=num_threads)
        self.reader = reader

    def __len__(self) -> int:
        return len(self.reader)

    def get_avg_fps(self) -> float:
        return float(self.reader.get_avg_fps())

    def read(self, indices: Sequence[int], sequential: bool = False
             ) -> np.ndarray:
        inds = [int(i) for i in indices]
        if not sequential:
            return _as_numpy(self.reader.get_batch(inds))
        self.reader.seek(0)
        out, want, pos = [], iter(inds), 0
        nxt = next(want, None)
        while nxt is not None:
            frame = self.reader.next()
            if pos == nxt:
                out.append(frame.asnumpy())
                nxt = next(want, None)
            pos += 1
        return np.stack(out)


class PyAVReader:
    """PyAV (FFmpeg) reader; opens AV1, GIF and what else FFmpeg decodes.

    Opening demuxes the file once (no decoding): ``len`` is the number of
    video packets (container headers over-report: a Cinepak AVI's header says
    444 frames for 68), and the packets' presentation timestamps, sorted,
    give every frame's index. Seeking (``read(..., sequential=False)``)
    jumps to the key frame before the first wanted frame and decodes
    forward, identifying frames by their timestamp (an "exact" seek). Files
    whose packets lack unique timestamps are always read sequentially.

    Args:
        path: video file.
        num_threads: FFmpeg decoder threads (0 = FFmpeg's choice).
    """

    name = 'pyav'

    def __init__(self, path: str, num_threads: int = 1) -> None:
        try:
            import av
        except ImportError as exc:
            raise BackendUnavailable(
                f"backend 'pyav' needs PyAV: {INSTALL_HINT['pyav']}") from exc
        self.path = path
        self.num_threads = int(num_threads)
        self._av = av
        container = self._open()
        try:
            stream = container.streams.video[0]
            self._fps = float(stream.average_rate or stream.guessed_rate
                              or 25)
            pts = [p.pts for p in container.demux(stream) if p.size > 0]
        finally:
            container.close()
        self._len = len(pts)
        self._pts = None  # sorted presentation timestamps, when usable
        if pts and None not in pts and len(set(pts)) == len(pts):
            self._pts = sorted(pts)
            self._index = {t: i for i, t in enumerate(self._pts)}

    def _open(self):
        container = self._av.open(self.path)
        if not container.streams.video:
            container.close()
            raise RuntimeError(f'{self.path}: no video stream')
        stream = container.streams.video[0]
        if self.num_threads != 1:
            stream.thread_type = 'AUTO'
            stream.codec_context.thread_count = self.num_threads
        return container

    def __len__(self) -> int:
        return self._len

    def get_avg_fps(self) -> float:
        return self._fps

    def read(self, indices: Sequence[int], sequential: bool = False
             ) -> np.ndarray:
        inds = [int(i) for i in indices]
        container = self._open()
        try:
            stream = container.streams.video[0]
            out = {}
            want = set(inds)
            last = inds[-1]
            if sequential or self._pts is None or inds[0] == 0:
                for pos, frame in enumerate(container.decode(stream)):
                    if pos in want:
                        out[pos] = frame.to_ndarray(format='rgb24')
                    if pos >= last:
                        break
            else:
                container.seek(self._pts[inds[0]], backward=True,
                               any_frame=False, stream=stream)
                for frame in container.decode(stream):
                    pos = self._index.get(frame.pts)
                    if pos is None:
                        continue
                    if pos in want and pos not in out:
                        out[pos] = frame.to_ndarray(format='rgb24')
                    if pos >= last:
                        break
        finally:
            container.close()
        missing = [i for i in inds if i not in out]
        if missing:
            raise RuntimeError(
                f'{self.path}: PyAV decoded no frame {missing[0]} of '
                f'{self._len} (the file ends early or breaks)')
        return np.stack([out[i] for i in inds])


class FrameFolderReader:
    """A folder of JPEG frames (``img_00001.jpg``, ... as mmaction2's
    rawframes; written by ``tools/data/prepare_videos.py --frames``).

    Frame ``i`` is the file ``FRAME_TMPL.format(i + 1)``, decoded on its own
    (libjpeg-turbo through OpenCV), so random access is exact and costs the
    same as a sequential read: ``exact_seek`` tells the dataset not to check
    it. ``len`` and the fps come from ``frames.json`` (written when the
    folder is complete) or, without it, from counting the files (fps 30).

    Args:
        path: the frame folder.
        num_threads: unused (one decode per frame, one thread).
    """

    name = 'frames'
    exact_seek = True

    def __init__(self, path: str, num_threads: int = 1) -> None:
        import json
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{path}: not a frame folder (backend \'frames\' reads '
                f'folders of {FRAME_TMPL.format(1)}, ...)')
        self.path = path
        meta = osp.join(path, FRAMES_META)
        if osp.isfile(meta):
            with open(meta, encoding='utf-8') as f:
                info = json.load(f)
            self._len, self._fps = int(info['frames']), float(info['fps'])
        else:
            names = [n for n in os.listdir(path)
                     if n.startswith('img_') and n.endswith('.jpg')]
            self._len, self._fps = len(names), 30.0
        if self._len == 0:
            raise RuntimeError(f'{path}: no frames ({FRAME_TMPL.format(1)} '
                               '...) in the folder')

    def __len__(self) -> int:
        return self._len

    def get_avg_fps(self) -> float:
        return self._fps

    def read(self, indices: Sequence[int], sequential: bool = False
             ) -> np.ndarray:
        import cv2
        out = None
        for k, i in enumerate(indices):
            i = int(i)
            if not 0 <= i < self._len:
                raise IndexError(f'{self.path}: frame {i} of {self._len}')
            name = osp.join(self.path, FRAME_TMPL.format(i + 1))
            buf = np.fromfile(name, dtype=np.uint8)  # OSError if missing
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            if img is None:
                raise RuntimeError(f'{name}: not a decodable image')
            if out is None:
                out = np.empty((len(indices), ) + img.shape, np.uint8)
            elif img.shape != out.shape[1:]:
                raise RuntimeError(f'{name}: size {img.shape[:2]} differs '
                                   f'from the first frame\'s '
                                   f'{out.shape[1:3]}')
            cv2.cvtColor(img, cv2.COLOR_BGR2RGB, dst=out[k])
        if out is None:
            return np.empty((0, 0, 0, 3), np.uint8)
        return out


def open_reader(path: str, backend: str = 'decord', num_threads: int = 1):
    """A reader of ``backend`` (one of :data:`BACKENDS`) on ``path``."""
    if backend == 'decord':
        return DecordReader(path, num_threads=num_threads)
    if backend == 'pyav':
        return PyAVReader(path, num_threads=num_threads)
    if backend == 'frames':
        return FrameFolderReader(path, num_threads=num_threads)
    raise ValueError(f'unknown video backend {backend!r}; choose one of '
                     f'{BACKENDS}')


def backend_available(backend: str) -> bool:
    """Whether the library of ``backend`` can be imported."""
    try:
        __import__({'decord': 'decord', 'pyav': 'av',
                    'frames': 'cv2'}[backend])
        return True
    except ImportError:
        return False


def probe_indices(path: str, num_frames: int, num: int = 4) -> List[int]:
    """``num`` distinct frame indices for the seek check, drawn from a
    generator seeded by the path (the same indices every time, and no draw
    from numpy's global generator, so training runs stay reproducible).
    The last frame and one middle frame are always included."""
    n = int(num_frames)
    rng = np.random.default_rng(zlib.crc32(osp.abspath(path).encode()))
    picks = {n - 1, n // 2}
    if n > 2:
        picks.update(int(i) for i in rng.choice(
            np.arange(1, n - 1), size=min(max(num - 2, 0), n - 2),
            replace=False))
    return sorted(p for p in picks if p > 0)  # frame 0 is trivially right


def verify_seek(reader, path: str, num: int = 4, prime: bool = False,
                reopen: Optional[Callable[[], object]] = None
                ) -> Optional[Tuple[int, int]]:
    """``None`` when random access returns the frames a sequential decode
    has at those indices (``num`` indices, see :func:`probe_indices`), else
    ``(i, j)``: asking for frame ``i`` returned sequential frame ``j``
    (the closest one; ``-1`` when it matches none).

    ``reader`` must be freshly opened: its first read is the probes'
    sorted read, as ``DecordDecodeClips`` reads a sample on the reader
    ``DecordInit`` just opened. Decord's random access depends on what the
    reader decoded before: on ``misc/cockatoo.mp4`` of the shared data
    (H.264 High 4:4:4, IDR key frames at 0, 76, 145) a first seek to a later
    key frame makes FFmpeg report "error while decoding MB" and decord return
    garbage, while the same seek after frame 0 was decoded is exact. The
    sorted read alone misses that when its first probe lies before the
    second key frame (it decodes from frame 0, and the probes depend on the
    path), so the middle and the last probe are also each read first on a
    reader of their own (``reopen()``, by default the same backend opened
    again): where a training sample that starts there begins. Then the
    sequential decode runs once up to the last index, and each probe is
    read on its own. ``prime``: decode frame 0 on every fresh reader first,
    as ``DecordDecodeClips`` does for ``prime_read``.
    """
    idx = probe_indices(path, len(reader), num)
    if not idx:
        return None
    batch = _training_read(reader, idx, prime)
    if batch is None:
        return idx[0], -1
    seq = reader.read(list(range(idx[-1] + 1)), sequential=True)
    return _judge(reader, batch, reopen or _reopener(reader, path), idx,
                  seq, prime)


def verify_seek_primed(reader, reopen: Optional[Callable[[], object]],
                       path: str, num: int = 4
                       ) -> Tuple[Optional[Tuple[int, int]],
                                  Optional[Tuple[int, int]]]:
    """:func:`verify_seek` without and with ``prime``, from one sequential
    decode: ``(wrong, wrong_primed)``. ``reader`` is fresh; ``reopen()``
    opens another fresh reader of ``path`` (``None``: the same backend
    again). A file that seeks exactly needs no priming: then
    ``wrong_primed`` is ``None`` too, and no primed read is made."""
    idx = probe_indices(path, len(reader), num)
    if not idx:
        return None, None
    reopen = reopen or _reopener(reader, path)
    batch = _training_read(reader, idx, False)
    seq = reader.read(list(range(idx[-1] + 1)), sequential=True)
    wrong = _judge(reader, batch, reopen, idx, seq, False)
    if wrong is None:
        return None, None
    fresh = reopen()
    return wrong, _judge(fresh, _training_read(fresh, idx, True), reopen,
                         idx, seq, True)


def _judge(reader, batch: Optional[np.ndarray], reopen: Callable[[], object],
           idx: List[int], seq: np.ndarray, prime: bool
           ) -> Optional[Tuple[int, int]]:
    """The verdict of :func:`verify_seek` once ``reader`` made the training
    read ``batch`` (``None``: it raised) and ``seq`` is decoded."""
    if batch is None:
        return idx[0], -1
    return _first_wrong(reader, idx, batch, seq) or \
        _fresh_starts_wrong(reopen, idx, len(reader), seq, prime)


def _reopener(reader, path: str) -> Callable[[], object]:
    name = getattr(reader, 'name', None)
    if name is None:
        raise TypeError(f'verify_seek: {type(reader).__name__} has no backend '
                        '`name`; pass reopen= (a fresh reader of the file)')
    return lambda: open_reader(path, name)


def _fresh_starts_wrong(reopen: Callable[[], object], idx: List[int], n: int,
                        seq: np.ndarray, prime: bool
                        ) -> Optional[Tuple[int, int]]:
    """The middle and the last probe, each as the first read (after frame 0
    when ``prime``) of a fresh reader, against the sequential decode."""
    for i in [j for j in idx if j in (n // 2, n - 1)]:
        got = _training_read(reopen(), [i], prime)
        if got is None:
            return i, -1
        bad = _mismatch(seq, i, got[0])
        if bad:
            return bad
    return None


def _training_read(reader, idx: List[int], prime: bool
                   ) -> Optional[np.ndarray]:
    """The sorted read a training sample makes on a fresh reader (after
    frame 0 when ``prime``); ``None`` when it raises (a seek that fails is
    inexact)."""
    try:
        if prime:
            reader.read([0])
        return reader.read(idx)
    except Exception:  # noqa: BLE001 - the caller's verdict
        return None


def _mismatch(seq: np.ndarray, i: int, got: np.ndarray
              ) -> Optional[Tuple[int, int]]:
    """``None`` when ``got`` is sequential frame ``i``, else ``(i, j)`` with
    ``j`` the closest sequential frame (``-1``: none within 1 grey level)."""
    if np.array_equal(got, seq[i]):
        return None
    diffs = np.abs(seq.astype(np.int16) - got.astype(np.int16)).reshape(
        len(seq), -1).mean(1)
    j = int(np.argmin(diffs))
    return i, (j if diffs[j] < 1.0 else -1)


def _first_wrong(reader, idx: List[int], batch: np.ndarray, seq: np.ndarray
                 ) -> Optional[Tuple[int, int]]:
    """The first probe whose frame differs from the sequential decode
    ``seq``: in ``batch`` (the training read), then read on its own."""
    for i, got in zip(idx, batch):
        bad = _mismatch(seq, i, got)
        if bad:
            return bad
    for i in idx:
        try:
            got = reader.read([i])[0]
        except Exception:  # noqa: BLE001
            return i, -1
        bad = _mismatch(seq, i, got)
        if bad:
            return bad
    return None


# ----------------------------------------------------------------------
# decoder messages a user can act on
def stream_codec(path: str) -> Optional[str]:
    """Codec name of the first video stream (PyAV), ``None`` if unknown;
    GIF files are recognised by their magic bytes without PyAV."""
    try:
        with open(path, 'rb') as f:
            if f.read(6) in (b'GIF87a', b'GIF89a'):
                return 'gif'
    except OSError:
        return None
    try:
        import av
        with av.open(path) as c:
            if c.streams.video:
                name = c.streams.video[0].codec_context.name
                return _CODEC_OF_DECODER.get(name, name)
    except Exception:  # noqa: BLE001 - unknown is an answer too
        return None
    return None


def explain_open_failure(path: str, backend: str, message: str) -> str:
    """Turn a decoder's open error into a line that says what to do.

    decord says "cannot find video stream" for AV1 and GIF although the
    stream is there; name the codec (read with PyAV when installed) and the
    fix instead.
    """
    codec = stream_codec(path)
    if backend == 'decord' and codec in DECORD_UNSUPPORTED:
        return (f'codec {codec} is not supported by decord: use '
                f"backend='pyav' ({INSTALL_HINT['pyav']}) or re-encode with "
                f'`{REENCODE}`')
    return message
