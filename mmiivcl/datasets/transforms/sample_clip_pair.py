"""ρ independent clips per video (IIVCL paper, Sec. 3.3.2; ρ-MoCo).

Runs after mmaction2's ``DecordInit`` (which provides ``total_frames``) and
before :class:`DecordDecodeClips` (or mmaction2's ``DecordDecode``), which
then decodes the indices of all ρ clips in a single ``get_batch`` call on the
one reader of the sample (``DecordDecodeClips``: sorted, each frame once).
"""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

from ..errors import VideoTooShortError
from .clip_geometry import clip_offsets, clip_span, clip_stride


@TRANSFORMS.register_module()
class SampleClipPair(BaseTransform):
    """Sample ``num_clips`` (ρ) clips with independent uniform start times.

    Each clip is ``clip_len`` frames at stride ``frame_interval``, i.e. it
    spans ``L = (clip_len - 1) * frame_interval + 1`` frames. Each start time
    is drawn independently and uniformly from ``{0, ..., total_frames - L}``
    (every position where the whole clip fits).

    Short videos keep temporal order, indices never wrap (see
    :mod:`.clip_geometry`): with ``clip_len <= F < L`` frames the stride
    shrinks to ``(F - 1) // (clip_len - 1)`` and the start is uniform where
    that clip fits; with ``min_frames <= F < clip_len`` frame ``i`` of every
    clip is ``i * F // clip_len`` (repeats, in order). A video with fewer
    than ``min_frames`` frames raises :class:`VideoTooShortError`, which the
    training dataset turns into a skip.

    Randomness comes from numpy's global generator, which mmengine seeds per
    dataloader worker, so a seeded run is reproducible.

    Required keys: ``total_frames`` (optional ``start_index``, ``filename``).
    Added keys:
        - ``frame_inds``: int64 array (num_clips * clip_len,), clip-major:
          ``frame_inds.reshape(num_clips, clip_len)[c]`` is clip ``c``.
        - ``clip_starts``: int64 array (num_clips,) of each clip's first frame.
        - ``clip_stride``: int, the stride actually used (``frame_interval``
          unless the video is short; 0 when frames repeat).
        - ``clip_len``, ``num_clips``, ``frame_interval`` (read by
          ``FormatShape`` and :class:`ClipAugment`).

    Args:
        clip_len: frames per clip (T). Defaults to 8.
        frame_interval: temporal stride between sampled frames. Defaults to 8.
        num_clips: number of clips ρ per video. Defaults to 2.
        min_frames: fewest frames a video may have. Defaults to 8.
    """

    def __init__(self,
                 clip_len: int = 8,
                 frame_interval: int = 8,
                 num_clips: int = 2,
                 min_frames: int = 8) -> None:
        for name, value in (('clip_len', clip_len),
                            ('frame_interval', frame_interval),
                            ('num_clips', num_clips),
                            ('min_frames', min_frames)):
            if int(value) != value or value < 1:
                raise ValueError(
                    f'SampleClipPair: {name} must be a positive integer, '
                    f'got {value!r}')
        self.clip_len = int(clip_len)
        self.frame_interval = int(frame_interval)
        self.num_clips = int(num_clips)
        self.min_frames = int(min_frames)

    @property
    def clip_span(self) -> int:
        """Frames covered by one clip, first to last inclusive."""
        return clip_span(self.clip_len, self.frame_interval)

    def sample_starts(self, total_frames: int) -> np.ndarray:
        """Independent uniform start frames, shape (num_clips,)."""
        _, max_start = clip_offsets(total_frames, self.clip_len,
                                    self.frame_interval)
        return np.random.randint(0, max_start + 1,
                                 size=self.num_clips).astype(np.int64)

    def transform(self, results: Dict) -> Dict:
        """Add ``frame_inds`` for ρ clips; see the class docstring."""
        total_frames = int(results['total_frames'])
        if total_frames < self.min_frames:
            raise VideoTooShortError(
                results.get('filename'), total_frames, self.min_frames)
        starts = self.sample_starts(total_frames)
        offsets, _ = clip_offsets(total_frames, self.clip_len,
                                  self.frame_interval)
        inds = starts[:, None] + offsets[None, :]  # never wraps
        inds = inds.reshape(-1) + int(results.get('start_index', 0))
        results['frame_inds'] = inds.astype(np.int64)
        results['clip_starts'] = starts
        results['clip_stride'] = clip_stride(total_frames, self.clip_len,
                                             self.frame_interval)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, '
                f'num_clips={self.num_clips}, min_frames={self.min_frames})')
