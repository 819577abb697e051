"""mmaction2's ``SampleFrames`` without wrapping short videos (evaluation and
finetuning clips keep temporal order).

mmaction2's ``SampleFrames`` loops indices modulo the video length
(``out_of_bound_opt='loop'``) when a clip does not fit, which runs time
backwards inside the clip. :class:`OrderedSampleFrames` takes the same
arguments and returns the same indices whenever the clip fits; a video
shorter than one clip span gets the short-video rule of
:mod:`.clip_geometry` instead (shrunk stride, or repeated frames in order).
"""
from typing import Dict, Optional

import numpy as np
from mmaction.datasets.transforms import SampleFrames
from mmaction.registry import TRANSFORMS

from .clip_geometry import clip_offsets, clip_span


@TRANSFORMS.register_module()
class OrderedSampleFrames(SampleFrames):
    """``SampleFrames`` whose clips never wrap (same arguments).

    With ``F = total_frames`` and ``span = (clip_len - 1) * frame_interval
    + 1``:

    * ``F >= span``: exactly mmaction2's ``SampleFrames`` (same random
      draws, same indices); indices a temporal jitter pushes past the end
      are clamped to the last frame (``out_of_bound_opt='repeat_last'``,
      still in order) instead of looping.
    * ``F < span``: every clip uses the offsets of
      :func:`~.clip_geometry.clip_offsets` (stride ``(F - 1) //
      (clip_len - 1)`` when ``F >= clip_len``, else frame ``i * F //
      clip_len``); starts are evenly spread over the positions where that
      clip fits in test mode (the middle one for a single clip), uniform
      and sorted in training. No temporal jitter on short videos.

    Required keys: ``total_frames``, ``start_index``. Added keys:
    ``frame_inds`` (int64, clip-major), ``clip_len``, ``frame_interval``,
    ``num_clips``.

    Raises:
        ValueError: with ``target_fps`` (not supported: it changes the
            span per video; use mmaction2's ``SampleFrames``).
    """

    def __init__(self, clip_len: int, frame_interval: int = 1,
                 num_clips: int = 1, temporal_jitter: bool = False,
                 twice_sample: bool = False,
                 out_of_bound_opt: str = 'repeat_last',
                 test_mode: bool = False, keep_tail_frames: bool = False,
                 target_fps: Optional[int] = None) -> None:
        if target_fps is not None:
            raise ValueError('OrderedSampleFrames: target_fps is not '
                             'supported; use SampleFrames for it')
        if out_of_bound_opt != 'repeat_last':
            raise ValueError(
                'OrderedSampleFrames.out_of_bound_opt must be '
                f"'repeat_last' (indices never wrap), got "
                f'{out_of_bound_opt!r}')
        super().__init__(clip_len, frame_interval, num_clips,
                         temporal_jitter=temporal_jitter,
                         twice_sample=twice_sample,
                         out_of_bound_opt='repeat_last', test_mode=test_mode,
                         keep_tail_frames=keep_tail_frames)

    def short_starts(self, max_start: int) -> np.ndarray:
        """Clip starts in ``0 .. max_start`` for a short video."""
        n = self.num_clips * (2 if self.twice_sample and self.test_mode
                              else 1)
        if self.test_mode:
            if n == 1:
                return np.array([max_start // 2], dtype=np.int64)
            return np.round(np.arange(n) * (max_start / (n - 1))).astype(
                np.int64)
        return np.sort(np.random.randint(0, max_start + 1, size=n)).astype(
            np.int64)

    def transform(self, results: Dict) -> Dict:
        """Add ``frame_inds``; see the class docstring."""
        total = int(results['total_frames'])
        if total >= clip_span(self.clip_len, self.frame_interval):
            results = super().transform(results)
            results['frame_inds'] = np.asarray(results['frame_inds'],
                                               dtype=np.int64)
            return results
        offsets, max_start = clip_offsets(max(total, 1), self.clip_len,
                                          self.frame_interval)
        starts = self.short_starts(max_start)
        inds = (starts[:, None] + offsets[None, :]).reshape(-1)
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results
