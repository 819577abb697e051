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

    def __reduce__(self):  # picklable across processes (decode helpers)
        return (VideoDecodeError, (self.filename, self.reason))


class VideoTooShortError(VideoDecodeError):
    """Fewer decodable frames than ``min_frames``
    (docs/design.md#short-videos).

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

    def __reduce__(self):
        return (VideoTooShortError,
                (self.filename, self.total_frames, self.min_frames))


class UnreadableVideosError(RuntimeError):
    """Raised when no usable sample can be found (or, in test mode, when a
    video fails): lists every failing path with its reason.

    Args:
        failures: ``(path, reason)`` pairs.
        message: leading sentence.
    """

    def __init__(self, failures: Sequence[tuple], message: str) -> None:
        self.failures = list(failures)
        self.message = message
        lines = '\n'.join(f'  {p}: {r}' for p, r in self.failures)
        super().__init__(f'{message} ({len(self.failures)} file(s)):\n'
                         f'{lines}')

    def __reduce__(self):
        return (UnreadableVideosError, (self.failures, self.message))


class DecodeTimeoutError(VideoDecodeError):
    """Preparing a video took longer than the allowed time (a hung decode).

    Raised by :class:`~mmiivcl.datasets.UnlabeledVideoDataset` when
    ``decode_timeout`` is set and the helper process that decodes the sample
    had to be killed (decord can hang in native code while holding the GIL,
    dmlc/decord#373, so only another process can stop it).

    Args:
        filename: path of the video.
        timeout: the limit in seconds.
    """

    def __init__(self, filename: Optional[str], timeout: float) -> None:
        self.timeout = float(timeout)
        super().__init__(filename, f'decode timed out after {timeout:g} s '
                         '(helper process killed)')

    def __reduce__(self):
        return (DecodeTimeoutError, (self.filename, self.timeout))


class InexactSeekError(VideoDecodeError):
    """A file the pipeline would read with wrong frames (random access does
    not return the frame asked for, and the configuration does not allow a
    sequential read), or one only another decoder opens.

    Args:
        filename: path of the video.
        verdict: what was found, e.g. ``'inexact seeking: frame 150
            returned frame 49'``.
    """

    def __init__(self, filename: Optional[str], verdict: str) -> None:
        self.verdict = verdict
        super().__init__(filename, verdict)

    def __reduce__(self):
        return (InexactSeekError, (self.filename, self.verdict))
