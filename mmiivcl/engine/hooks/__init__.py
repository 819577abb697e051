from .momentum_update_hook import MomentumUpdateHook

__all__ = ['MomentumUpdateHook']
from .ava_config_check_hook import AVAConfigCheckHook  # noqa: F401,E402
