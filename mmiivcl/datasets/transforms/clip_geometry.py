"""Where a clip's frames lie in a video of ``F`` frames, never wrapping.

One rule for every sampler of ours (``SampleClipPair``, the segment clips of
``SampleSegmentTuple``, ``OrderedSampleFrames``). With
``span = (clip_len - 1) * frame_interval + 1``:

* ``F >= span``: the configured stride, the start anywhere the clip fits
  (``0 .. F - span``);
* ``clip_len <= F < span``: the largest stride that fits,
  ``s = (F - 1) // (clip_len - 1)``, the start anywhere the shortened clip
  fits (``F = clip_len`` gives frames ``0 .. clip_len - 1``);
* ``F < clip_len``: frame ``i`` of the clip is ``i * F // clip_len``
  (non-decreasing; frames repeat in order), start 0.

Looping modulo ``F`` (what mmaction2's ``SampleFrames`` does with
``out_of_bound_opt='loop'``) is never used: it runs time backwards inside a
clip (a 10-frame video looped at stride 8 gives ``5, 3, 1, 9, ...``), which is
corrupt input for a model that learns from motion. Callers reject videos
with fewer than ``min_frames`` frames before asking for offsets.
"""
from typing import Tuple

import numpy as np


def clip_span(clip_len: int, frame_interval: int) -> int:
    """Frames one clip covers at the configured stride, first to last."""
    return (int(clip_len) - 1) * int(frame_interval) + 1


def clip_stride(num_frames: int, clip_len: int, frame_interval: int) -> int:
    """Stride used in a video of ``num_frames`` frames (0 when the clip
    repeats frames, i.e. ``num_frames < clip_len``)."""
    if num_frames >= clip_span(clip_len, frame_interval):
        return int(frame_interval)
    if num_frames < clip_len:
        return 0
    return (int(num_frames) - 1) // (int(clip_len) - 1)


def clip_offsets(num_frames: int, clip_len: int,
                 frame_interval: int) -> Tuple[np.ndarray, int]:
    """Frame offsets of one clip and the largest start that keeps it inside.

    Args:
        num_frames: F, frames of the video (or of the segment), >= 1.
        clip_len: frames per clip.
        frame_interval: configured stride.

    Returns:
        ``(offsets, max_start)``: int64 ``(clip_len,)`` non-decreasing
        offsets from the clip's start, and the largest start ``m`` such that
        ``m + offsets[-1] <= F - 1``; starts are drawn from ``0 .. m``.
    """
    n, t = int(num_frames), int(clip_len)
    if n < 1:
        raise ValueError(f'clip_offsets: num_frames must be >= 1, got {n}')
    i = np.arange(t, dtype=np.int64)
    stride = clip_stride(n, t, frame_interval)
    if stride == 0:  # fewer frames than the clip: repeat frames, in order
        return (i * n) // t, 0
    offsets = i * stride
    return offsets, n - 1 - int(offsets[-1])
