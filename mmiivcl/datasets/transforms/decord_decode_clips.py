"""Decode all ρ clips of a sample in one sorted pass (IIVCL / ρ-MoCo input).

mmaction2's ``DecordDecode`` calls ``get_batch`` with the clip-major indices
of :class:`SampleClipPair` as they are: unsorted (clip 2 may start before
clip 1) and possibly repeated (clips may share frames). decord then seeks back
to an earlier key frame and decodes the same stretch of video again. Kinetics
files have key frames ~250 frames apart, so that re-decoding is most of the
cost. This transform decodes each needed frame once, in ascending order, in a
single ``get_batch`` call on the sample's one reader, and hands out the
frames in the requested (clip-major) order without copying them.
"""
import io
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS


def _short_side_shape(h: int, w: int, short: int) -> Tuple[int, int]:
    """(height, width) with the short side ``short`` and the aspect kept."""
    if h <= w:
        return short, max(short, int(round(w * short / h)))
    return max(short, int(round(h * short / w))), short


from ..video_backends import DecordReader, _as_numpy  # noqa: E402


@TRANSFORMS.register_module()
class DecordDecodeClips(BaseTransform):
    """One sorted, de-duplicated ``get_batch`` for every clip of a sample.

    Drop-in replacement of mmaction2's ``DecordDecode`` after
    ``DecordInit`` + :class:`SampleClipPair`: the output ``imgs[k]`` is
    exactly the frame ``frame_inds[k]`` (the same pixels a plain
    ``get_batch(frame_inds)`` returns), in the same clip-major order.

    * Decoding: ``np.unique(frame_inds)`` (ascending, each frame once) in one
      ``get_batch`` call, so the decoder runs forward through the video once
      instead of seeking back for every clip that starts earlier than the
      previous one.
    * No copies: ``imgs`` is a list of views into the decoded batch (which
      is itself taken over from decord without a copy). A frame requested
      more than once is copied for its repeats only, so no two entries share
      memory and in-place transforms (e.g. mmaction2's ``Flip``) stay safe.
    * Resize while decoding (``short_side``): when the video's short side is
      above ``short_side`` and at least ``min_ratio`` x ``short_side``, the
      reader is re-opened with decord's ``width``/``height`` so frames come
      out of the decoder at short side ``short_side`` (aspect kept): the
      colour conversion and the later resize then work on small frames. Set
      ``short_side`` to the largest short side the following augmentation
      needs (``ClipAugment``'s ``scale[1]``), so nothing is enlarged from a
      frame decord shrank. The source size is read from frame 0 (a key
      frame the forward pass decodes anyway), so a video below the
      threshold costs nothing extra. Measured (RESULTS.md): decoding itself
      dominates (every frame from the key frame on is decoded whatever the
      output size), so on 720p sources this saves only the ~4 ms of the
      later resize, about what the second open costs; small sources would
      only pay, hence ``min_ratio``.

    * Exact frames: with ``results['sequential_read']`` (set by
      :class:`~mmiivcl.datasets.UnlabeledVideoDataset` for a file whose
      random access was found inexact) the same sorted indices are read by
      decoding from the first frame on, still in one pass. With
      ``results['prime_read']`` (random access found exact once the fresh
      reader decoded frame 0) frame 0 is decoded before the sorted read.
    * Second backend: a reader opened by :class:`VideoInit` with
      ``backend='pyav'`` is read the same way (one sorted read, each frame
      once); resizing while decoding is a decord feature and is skipped.

    Required keys: ``video_reader``, ``frame_inds`` (``filename`` when
    ``short_side`` is set); optional ``sequential_read``, ``prime_read``.
    Added / modified keys: ``imgs`` (list of (H, W, 3) uint8 RGB frames),
    ``original_shape`` (source (h, w)), ``img_shape`` (decoded (h, w)),
    ``decode_resized`` (bool); ``video_reader`` is released (``None``).

    Args:
        short_side: decode at this short side when the source is larger
            (see ``min_ratio``); ``None`` (default) decodes at source size.
        min_ratio: resize while decoding only when the source short side is
            at least ``min_ratio * short_side``. Defaults to 2.
        num_threads: decoder threads of a re-opened reader (as
            ``DecordInit``'s ``num_threads``; 1 suits DataLoader workers).
    """

    #: honours ``sequential_read`` (see UnlabeledVideoDataset.inexact_seek)
    reads_exactly = True

    def __init__(self, short_side: Optional[int] = None,
                 min_ratio: float = 2.0, num_threads: int = 1) -> None:
        if short_side is not None and (int(short_side) != short_side
                                       or short_side < 1):
            raise ValueError('DecordDecodeClips: short_side must be a '
                             f'positive int or None, got {short_side!r}')
        if not min_ratio >= 1.0:
            raise ValueError('DecordDecodeClips: min_ratio must be >= 1, got '
                             f'{min_ratio!r}')
        self.short_side = None if short_side is None else int(short_side)
        self.min_ratio = float(min_ratio)
        self.num_threads = int(num_threads)

    def _reopen(self, filename: str, height: int, width: int):
        import decord
        if osp.isfile(filename):
            src = filename
        else:  # a non-disk backend: fetch the bytes as DecordInit does
            from mmengine.fileio import get
            src = io.BytesIO(get(filename))
        return decord.VideoReader(src, width=width, height=height,
                                  num_threads=self.num_threads)

    def transform(self, results: Dict) -> Dict:
        """Decode ``frame_inds``; see the class docstring."""
        reader = results['video_reader']
        inds = np.asarray(results['frame_inds'], dtype=np.int64).reshape(-1)
        uniq, inverse = np.unique(inds, return_inverse=True)
        resized = False
        source_shape = None
        sequential = bool(results.get('sequential_read', False))
        if hasattr(reader, 'read'):  # PyAV (VideoInit): no resize on decode
            batch = reader.read(uniq.tolist(), sequential=sequential)
            return self._hand_out(results, batch, inverse, False, None)
        if self.short_side is not None:
            # frame 0 is a key frame: the forward pass decodes it anyway
            source_shape = tuple(reader[0].shape[:2])
            h, w = source_shape
            if min(h, w) > self.short_side and \
                    min(h, w) >= self.min_ratio * self.short_side:
                nh, nw = _short_side_shape(h, w, self.short_side)
                # free the first reader now: its decoder thread keeps
                # decoding ahead for as long as it lives
                results['video_reader'] = None
                del reader
                reader = self._reopen(results['filename'], nh, nw)
                resized = True
        if sequential:
            batch = DecordReader(reader=reader).read(uniq.tolist(),
                                                     sequential=True)
        else:
            if results.get('prime_read', False):
                reader.next()  # frame 0 first: the seeks are then exact
            batch = _as_numpy(reader.get_batch(uniq.tolist()))
        del reader
        return self._hand_out(results, batch, inverse, resized, source_shape)

    @staticmethod
    def _hand_out(results: Dict, batch: np.ndarray, inverse: np.ndarray,
                  resized: bool, source_shape) -> Dict:
        """Views of ``batch`` in the requested order (repeats copied)."""
        seen = np.zeros(len(batch), dtype=bool)
        imgs: List[np.ndarray] = []
        for j in inverse.tolist():
            imgs.append(batch[j].copy() if seen[j] else batch[j])
            seen[j] = True
        results['imgs'] = imgs
        results['img_shape'] = batch.shape[1:3]
        results['original_shape'] = source_shape or batch.shape[1:3]
        results['decode_resized'] = resized
        results['video_reader'] = None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(short_side={self.short_side}, '
                f'min_ratio={self.min_ratio}, num_threads={self.num_threads})')
