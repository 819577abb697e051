"""Exceptions of the video data layer.

They live in a module of their own so that transforms can raise them and
:class:`~mmiivcl.datasets.UnlabeledVideoDataset` can catch them without either
importing the other.
"""
from typing import Optional, Sequence


class VideoDecodeError(RuntimeError):
    """A video could not be used: unreadable, empty, missing, too short.

    Args:
        filename: path of the video (``None`` if unknown).
        reason: short human-readable reason.
    """

    def __init__(self, filename: Optional[str], reason: str) -> None:
        self.filename = filename
        self.reason = reason
        super().__init__(f'{filename}: {reason}')


class VideoTooShortError(VideoDecodeError):
    """Fewer decodable frames than ``min_frames`` (DESIGN §10, short videos).

    Args:
        filename: path of the video.
        total_frames: number of frames the decoder reports.
        min_frames: the minimum the sampler accepts.
    """

    def __init__(self, filename: Optional[str], total_frames: int,
                 min_frames: int) -> None:
        self.total_frames = int(total_frames)
        self.min_frames = int(min_frames)
        super().__init__(
            filename, f'only {total_frames} frame(s), fewer than '
            f'min_frames={min_frames}')


class UnreadableVideosError(RuntimeError):
    """Raised when no usable sample can be found (or, in test mode, when a
    video fails): lists every failing path with its reason.

    Args:
        failures: ``(path, reason)`` pairs.
        message: leading sentence.
    """

    def __init__(self, failures: Sequence[tuple], message: str) -> None:
        self.failures = list(failures)
        lines = '\n'.join(f'  {p}: {r}' for p, r in self.failures)
        super().__init__(f'{message} ({len(self.failures)} file(s)):\n'
                         f'{lines}')
