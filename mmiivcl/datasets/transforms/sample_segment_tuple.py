"""Two segment tuples per video plus a re-augmentable anchor frame (VCLR).

VCLR (VCLR paper, Sec. 3 and Appendix A) splits a video into K equal segments
and draws two distinct frames from every segment: one goes to the *anchor*
tuple, the other to the *positive* tuple, so each tuple holds one frame per
segment in temporal order. The frame-level losses (inter-frame, intra-frame)
use one anchor-tuple frame as query, a second, independently augmented copy
of that same frame as its positive, and the other anchor-tuple frames as the
other frames of the video. The public VCLR code draws the query frame from
the first or the last segment
(docs/design.md#vclr-details-the-paper-leaves-out).

The 3D "segment-clip" variant replaces every frame by a short clip of
``clip_len`` frames at stride ``frame_interval`` that starts in its segment.

Runs after mmaction2's ``DecordInit`` (``total_frames``) and before
``DecordDecode``, which then decodes all clips in one ``get_batch`` call;
every clip is then augmented independently by :class:`ClipAugment`.
"""
from typing import Dict, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from ..errors import VideoTooShortError
from .clip_geometry import clip_offsets, clip_span


@TRANSFORMS.register_module()
class SampleSegmentTuple(BaseTransform):
    """Sample the anchor tuple, the positive tuple and the query copy.

    Segments: with ``n = total_frames`` and ``K = num_segments``, segment
    ``k`` holds the frames ``[floor(k n / K), floor((k + 1) n / K))``.

    From each segment two *distinct* start frames are drawn uniformly without
    replacement; the first starts the anchor tuple's clip of that segment, the
    second the positive tuple's. A start is drawn among the positions where
    the whole clip (``L = (clip_len - 1) * frame_interval + 1`` frames) stays
    inside the segment. A segment shorter than ``L + 1`` frames keeps its
    clips inside it and in temporal order, never wrapping (the short-video
    rule of :mod:`.clip_geometry`, applied per segment): the stride shrinks
    to the largest that still leaves two distinct starts,
    ``(S - 2) // (clip_len - 1)`` for a segment of ``S >= clip_len + 1``
    frames; a segment of ``S <= clip_len`` frames gives both tuples the same
    clip ``0 .. S - 1`` (``S = clip_len``) or frame ``i * S // clip_len``.
    With ``clip_len=1`` (the 2D model) every clip is a single frame, so
    nothing changes for it.

    The query segment ``s`` is drawn uniformly from ``query_segments``; its
    anchor clip is appended once more (the same frame indices), so that the
    augmentation that follows gives it its own, independent parameters.

    Output layout, clip-major, ``num_clips = 2 K + 1`` clips::

        [anchor_0 .. anchor_{K-1}, positive_0 .. positive_{K-1}, anchor_s]

    Required keys: ``total_frames`` (optional ``start_index``, ``filename``).
    Added keys:
        - ``frame_inds``: int64 (num_clips * clip_len,), clip-major.
        - ``clip_starts``: int64 (num_clips,) first frame of every clip.
        - ``clip_segments``: int64 (num_clips,) segment of every clip, i.e.
          ``[0..K-1, 0..K-1, s]``; :class:`TemporalOrderShuffle` permutes it
          along with the clips, and the model reads it to find the query.
        - ``query_segment`` (int ``s``), ``num_segments`` (K),
          ``segment_bounds`` int64 (K + 1,),
        - ``clip_len``, ``frame_interval``, ``num_clips`` (read by
          ``FormatShape`` and :class:`ClipAugment`).

    Raises:
        VideoTooShortError: fewer than ``max(min_frames, 2 * num_segments)``
            frames (every segment needs two distinct frames); the training
            dataset turns it into a skip.

    Args:
        num_segments: K, the number of segments (VCLR: 3).
        clip_len: frames per clip (1 for the 2D model).
        frame_interval: stride between the frames of a clip.
        query_segments: segments the query frame may come from (negative
            values count from the end); VCLR: first or last, ``(0, -1)``.
        min_frames: fewest frames a usable video has (8,
        docs/design.md#short-videos).
    """

    def __init__(self,
                 num_segments: int = 3,
                 clip_len: int = 1,
                 frame_interval: int = 1,
                 query_segments: Sequence[int] = (0, -1),
                 min_frames: int = 8) -> None:
        for name, value in (('num_segments', num_segments),
                            ('clip_len', clip_len),
                            ('frame_interval', frame_interval),
                            ('min_frames', min_frames)):
            if int(value) != value or value < 1:
                raise ValueError(f'SampleSegmentTuple: {name} must be a '
                                 f'positive integer, got {value!r}')
        if num_segments < 2:
            raise ValueError('SampleSegmentTuple: num_segments must be >= 2 '
                             '(the query needs other frames of its video), '
                             f'got {num_segments}')
        self.num_segments = int(num_segments)
        self.clip_len = int(clip_len)
        self.frame_interval = int(frame_interval)
        self.min_frames = int(min_frames)
        k = self.num_segments
        qs = [int(s) for s in query_segments]
        if not qs or any(not -k <= s < k for s in qs):
            raise ValueError(
                'SampleSegmentTuple: query_segments must be a non-empty list '
                f'of segment indices in [-{k}, {k}), got {query_segments!r}')
        self.query_segments = tuple(sorted({s % k for s in qs}))

    @property
    def clip_span(self) -> int:
        """Frames covered by one clip, first to last inclusive."""
        return clip_span(self.clip_len, self.frame_interval)

    @property
    def num_clips(self) -> int:
        """2 K + 1: anchor tuple, positive tuple, query copy."""
        return 2 * self.num_segments + 1

    def segment_bounds(self, total_frames: int) -> np.ndarray:
        """(K + 1,) int64 boundaries; segment k is [b[k], b[k + 1])."""
        k = np.arange(self.num_segments + 1, dtype=np.int64)
        return (k * int(total_frames)) // self.num_segments

    def segment_offsets(self, length: int) -> Tuple[np.ndarray, int]:
        """Offsets (clip_len,) of a clip in a segment of ``length`` frames
        and its largest start (relative to the segment); see the class
        docstring. The start range holds two positions whenever the
        segment has more than ``clip_len`` frames."""
        if length >= self.clip_span + 1 or length < self.clip_len + 1:
            return clip_offsets(length, self.clip_len, self.frame_interval)
        # one frame fewer for the stride, so that two distinct starts exist
        offsets, _ = clip_offsets(length - 1, self.clip_len,
                                  self.frame_interval)
        return offsets, length - 1 - int(offsets[-1])

    def sample_starts(self, total_frames: int) -> np.ndarray:
        """(2, K) int64 start frames: row 0 anchor, row 1 positive."""
        return self._sample(total_frames)[0]

    def _sample(self, total_frames: int) -> Tuple[np.ndarray, np.ndarray]:
        """Starts (2, K) and per-segment offsets (K, clip_len)."""
        bounds = self.segment_bounds(total_frames)
        starts = np.empty((2, self.num_segments), dtype=np.int64)
        offsets = np.empty((self.num_segments, self.clip_len),
                           dtype=np.int64)
        for k in range(self.num_segments):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            offsets[k], max_start = self.segment_offsets(hi - lo)
            if max_start >= 1:  # two distinct starts
                starts[:, k] = lo + np.random.choice(max_start + 1, 2,
                                                     replace=False)
            else:  # the segment holds one placement only: shared clip
                starts[:, k] = lo
        return starts, offsets

    def transform(self, results: Dict) -> Dict:
        """Add the 2 K + 1 clips' ``frame_inds``; see the class docstring."""
        total_frames = int(results['total_frames'])
        need = max(self.min_frames, 2 * self.num_segments)
        if total_frames < need:
            raise VideoTooShortError(results.get('filename'), total_frames,
                                     need)
        starts, seg_offsets = self._sample(total_frames)
        query = int(self.query_segments[np.random.randint(
            len(self.query_segments))])
        clip_starts = np.concatenate([starts[0], starts[1],
                                      starts[0, query:query + 1]])
        ks = np.arange(self.num_segments, dtype=np.int64)
        clip_segments = np.concatenate([ks, ks, [query]]).astype(np.int64)
        inds = clip_starts[:, None] + seg_offsets[clip_segments]  # no wrap
        inds = inds.reshape(-1) + int(results.get('start_index', 0))
        results['frame_inds'] = inds.astype(np.int64)
        results['clip_starts'] = clip_starts
        results['clip_segments'] = clip_segments
        results['query_segment'] = query
        results['num_segments'] = self.num_segments
        results['segment_bounds'] = self.segment_bounds(total_frames)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'num_segments={self.num_segments}, '
                f'clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, '
                f'query_segments={self.query_segments}, '
                f'min_frames={self.min_frames})')
