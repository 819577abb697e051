from .algorithms import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import info_nce, nn_info_nce  # noqa: F401
from .utils import *  # noqa: F401,F403
from .pretrained import (BackboneCheckpointError, PretrainedBackbone,  # noqa: F401,E501
                         is_backbone_only_checkpoint,
                         load_backbone_checkpoint)
