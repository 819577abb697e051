"""The project's hooks, one per file named after its class."""
from .ava_config_check_hook import AVAConfigCheckHook
from .embedding_collapse_hook import EmbeddingCollapseHook
from .epoch_seed_hook import EpochSeedHook
from .excluded_videos_hook import ExcludedVideosHook
from .frozen_backbone_check_hook import FrozenBackboneCheckHook
from .momentum_update_hook import MomentumUpdateHook
from .nn_queue_stats_hook import NNQueueStatsHook
from .nn_visualization_hook import NNVisualizationHook
from .non_finite_loss_hook import NonFiniteLossHook
from .pretrain_config_check_hook import PretrainConfigCheckHook
from .queue_nn_probe_hook import QueueNNProbeHook
from .skip_stats_hook import SkipStatsHook
from .sync_buffers_except_local_hook import SyncBuffersExceptLocalHook

__all__ = [
    'AVAConfigCheckHook', 'EmbeddingCollapseHook', 'EpochSeedHook',
    'ExcludedVideosHook', 'FrozenBackboneCheckHook', 'MomentumUpdateHook',
    'NNQueueStatsHook', 'NNVisualizationHook', 'NonFiniteLossHook',
    'PretrainConfigCheckHook', 'QueueNNProbeHook', 'SkipStatsHook',
    'SyncBuffersExceptLocalHook'
]
