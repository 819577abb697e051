from .clip_augment_preprocessor import ClipAugmentPreprocessor  # noqa: F401
from .clip_photometric import apply_clip_photometric  # noqa: F401
