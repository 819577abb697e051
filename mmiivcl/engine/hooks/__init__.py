from .momentum_update_hook import MomentumUpdateHook

__all__ = ['MomentumUpdateHook']
from .ava_config_check_hook import AVAConfigCheckHook  # noqa: F401,E402
from .frozen_backbone_check_hook import FrozenBackboneCheckHook  # noqa: F401,E402
from .nn_queue_stats_hook import NNQueueStatsHook  # noqa: F401,E402
from .nn_visualization_hook import NNVisualizationHook  # noqa: F401,E402
from .epoch_seed_hook import EpochSeedHook  # noqa: F401,E402
from .skip_stats_hook import SkipStatsHook  # noqa: F401,E402
from .non_finite_loss_hook import NonFiniteLossHook  # noqa: F401,E402
from .embedding_collapse_hook import EmbeddingCollapseHook  # noqa: F401,E402
from .pretrain_config_check_hook import PretrainConfigCheckHook  # noqa: F401,E402,E501
from .excluded_videos_hook import ExcludedVideosHook  # noqa: F401,E402
from .queue_nn_probe_hook import QueueNNProbeHook  # noqa: F401,E402
from .sync_buffers_except_local_hook import SyncBuffersExceptLocalHook  # noqa: F401,E402,E501
