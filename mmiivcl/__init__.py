"""mmiivcl: self-supervised video representation learning for mmaction2.

``import mmiivcl`` applies the compat patches (see :mod:`mmiivcl.compat`) and
registers every component into mmaction2's registries.
"""
from . import compat  # noqa: F401  (must run before mmaction.models is imported)
import mmaction.models  # noqa: F401,E402  (fill mmaction2's registries)

from . import (datasets, engine, evaluation, models,  # noqa: F401,E402
               retrieval)
from .utils import config_args  # noqa: E402

config_args.install()  # unknown config keys named in one line

__version__ = '0.1.0'
