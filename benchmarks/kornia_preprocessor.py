"""Photometric clip augmentation on the training device (kornia), measured.

A bigger move for the pipeline: the workers decode, resize and crop (uint8),
and colour jitter, grayscale, Gaussian blur and the horizontal flip run as
batched tensor ops inside the model's data preprocessor, with kornia's
``VideoSequential(..., data_format='BCTHW', same_on_frame=True)`` drawing one
parameter set per clip for all of its frames. Measured in
``bench_pipeline.py`` (variant ``ours+kornia``); it is not the default
because it loses end to end on the CPU machine (see RESULTS.md), and kornia
is therefore not a project dependency. Importing this module requires
``pip install kornia==0.9.0``.

Worker side: ``ClipAugment(..., color_jitter=None, grayscale_p=0,
blur_p=0, flip_p=0)`` (see :func:`geometry_only_pipeline`).
"""
import copy
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmiivcl  # noqa: E402,F401  (mmaction2 1.2.0 import fixes first)
from mmaction.models.data_preprocessors import \
    ActionDataPreprocessor  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402
from mmengine.model.utils import stack_batch  # noqa: E402


def build_video_aug(crop_size: int = 224,
                    color_jitter: Sequence[float] = (0.4, 0.4, 0.4, 0.1),
                    color_jitter_p: float = 0.8, grayscale_p: float = 0.2,
                    blur_p: float = 0.5,
                    blur_sigma: Tuple[float, float] = (0.1, 2.0),
                    flip_p: float = 0.2):
    """kornia ``VideoSequential`` with the IIVCL photometric recipe.

    Input/output: float (B, C, T, H, W) in [0, 1]; one parameter set per
    clip (``same_on_frame=True``), shared by its T frames.
    """
    import kornia.augmentation as K
    k = int(round(0.1 * crop_size)) // 2 * 2 + 1  # 23 at 224, as ClipAugment
    return K.VideoSequential(
        K.ColorJitter(*color_jitter, p=color_jitter_p),
        K.RandomGrayscale(p=grayscale_p),
        K.RandomGaussianBlur((k, k), tuple(blur_sigma), p=blur_p),
        K.RandomHorizontalFlip(p=flip_p),
        data_format='BCTHW', same_on_frame=True)


@MODELS.register_module()
class KorniaClipAugPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` that first augments every clip (training).

    Inputs: per sample a uint8 (rho, C, T, H, W) tensor (the pretraining
    data contract); the batch (N, rho, C, T, H, W) is augmented as N * rho
    clips, then normalised with ``mean`` / ``std`` as usual.

    Args:
        aug (dict, optional): keyword arguments of :func:`build_video_aug`.
        **kwargs: ``ActionDataPreprocessor`` arguments.
    """

    def __init__(self, aug: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.aug = build_video_aug(**(aug or {}))

    def preprocess(self, inputs: List[torch.Tensor], data_samples,
                   training: bool = False) -> Tuple:
        if not training:
            return super().preprocess(inputs, data_samples, training)
        batch = stack_batch(inputs)  # (N, rho, C, T, H, W) uint8
        clips = batch.flatten(0, 1).float().div_(255.0)
        with torch.no_grad():
            clips = self.aug(clips)
        out = clips.mul_(255.0).view(batch.shape)
        if self._enable_normalize:
            out = (out - self.mean) / self.std
        return out, data_samples


def geometry_only_pipeline(pipeline: List[dict]) -> List[dict]:
    """The train pipeline with ClipAugment's photometric ops switched off."""
    out = copy.deepcopy(pipeline)
    for t in out:
        if t['type'] == 'ClipAugment':
            t.update(color_jitter=None, grayscale_p=0.0, blur_p=0.0,
                     flip_p=0.0)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """``--quick``: check the geometry-only pipeline rewrite (no kornia);
    without it, also augment one tiny batch with kornia (needs kornia)."""
    import argparse
    import importlib.util
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='smoke run without the optional kornia dependency')
    args = p.parse_args(argv)
    aug = dict(type='ClipAugment', color_jitter=(0.4, 0.4, 0.4, 0.1),
               grayscale_p=0.2, blur_p=0.5, flip_p=0.2)
    geo = geometry_only_pipeline([aug])[0]
    if geo['blur_p'] or geo['grayscale_p'] or geo['color_jitter'] or \
            aug['color_jitter'] is None:
        raise SystemExit('geometry_only_pipeline left photometric ops on')
    print('geometry-only pipeline: photometric ops off, input unchanged')
    if args.quick or importlib.util.find_spec('kornia') is None:
        print('kornia augmentation skipped: '
              + ('--quick runs no optional dependency' if args.quick else
                 'kornia is not installed (pip install kornia==0.9.0)'))
        return 0
    pre = KorniaClipAugPreprocessor(
        aug=dict(crop_size=32), mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW')
    x = [torch.randint(0, 256, (2, 3, 4, 32, 32), dtype=torch.uint8)
         for _ in range(2)]
    out, _ = pre.preprocess(x, None, training=True)
    print(f'kornia augmentation: {tuple(out.shape)} {out.dtype}')
    return 0


if __name__ == '__main__':
    import sys
    sys.exit(main())
