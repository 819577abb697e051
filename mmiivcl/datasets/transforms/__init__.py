"""Data transforms (registered into mmaction2's TRANSFORMS)."""
from .clip_augment import ClipAugment  # noqa: F401
from .decord_decode_clips import DecordDecodeClips  # noqa: F401
from .sample_clip_pair import SampleClipPair  # noqa: F401
from .sample_segment_tuple import SampleSegmentTuple  # noqa: F401
from .temporal_order import TemporalOrderShuffle  # noqa: F401
from .ordered_sample_frames import OrderedSampleFrames  # noqa: F401
from .video_init import VideoInit  # noqa: F401
