"""What the command-line tools share: a help formatter that shows every
default, and the flags of a tool that extracts backbone features."""
import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter,
                    argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, every flag with its default."""


def default_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def add_feature_args(p: argparse.ArgumentParser) -> None:
    """The feature-extraction flags of ``tools/retrieval.py`` and
    ``tools/visualize_tsne.py``: batch size, workers, device (cuda when
    available) and the checkpoint's minimum load ratio (as
    ``tools/test.py``); ``--cfg-options`` too."""
    from mmengine.config import DictAction
    p.add_argument('--batch-size', type=int, default=8,
                   help='videos per feature-extraction batch')
    p.add_argument('--num-workers', type=int, default=2,
                   help='data loader workers')
    p.add_argument('--device', default=default_device(),
                   help='device of the feature extraction; cuda when torch '
                   'sees a GPU, else cpu')
    p.add_argument('--min-load-ratio', '--min-ratio', dest='min_ratio',
                   metavar='RATIO', type=float, default=0.9,
                   help='smallest fraction of backbone parameters that must '
                   'load from the checkpoint (as tools/test.py)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, key=value')
