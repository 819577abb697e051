"""Datasets and transforms (registered into mmaction2's registries)."""
from .errors import (DecodeTimeoutError, UnreadableVideosError,  # noqa: F401
                     VideoDecodeError, VideoTooShortError)
from .transforms import *  # noqa: F401,F403
from .unlabeled_video_dataset import UnlabeledVideoDataset  # noqa: F401
from .samplers import *  # noqa: F401,F403
from .tagged_concat_dataset import TaggedConcatDataset  # noqa: F401,E402
from .worker_seed import epoch_worker_init_fn  # noqa: F401,E402
