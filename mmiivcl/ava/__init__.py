"""AVA: checks of an annotation root against a detection config, before a
run (``tools/check_ava.py``, ``AVAConfigCheckHook``)."""
from .checks import AVAConfigError, ava_config_problems

__all__ = ['AVAConfigError', 'ava_config_problems']
