from .backbone_width import backbone_width
from .feature_queue import FeatureQueue
from .gather import batch_shuffle_ddp, batch_unshuffle_ddp, concat_all_gather

__all__ = ['FeatureQueue', 'backbone_width', 'concat_all_gather', 'batch_shuffle_ddp',
           'batch_unshuffle_ddp']
