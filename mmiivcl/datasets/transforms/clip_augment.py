"""Per-clip augmentation: independent parameters per clip, shared by frames.

IIVCL (seed 001, Sec. 3.3.2) augments each of the ρ clips independently with
random short-side resize in [256, 320], random crop 224, colour jitter (0.4,
p=0.8), grayscale (p=0.2), Gaussian blur (p=0.5) and horizontal flip (p=0.2);
every frame of one clip receives the same parameters, so the clip stays
temporally coherent. VCLR (seed 002) uses the MoCo-v2 recipe (random resized
crop) on single frames: ``clip_len=1`` makes every frame its own clip.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

# ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _gray(x: np.ndarray) -> np.ndarray:
    """Luma of float RGB frames (..., 3) -> (...)."""
    return x @ _LUMA


def _check_range(name: str, value: Sequence[float], low: float) -> Tuple:
    if len(value) != 2 or value[0] > value[1] or value[0] < low:
        raise ValueError(f'ClipAugment: {name} must be (min, max) with '
                         f'{low} <= min <= max, got {value!r}')
    return tuple(float(v) for v in value)


def _check_prob(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f'ClipAugment: {name} must lie in [0, 1], got {p}')
    return float(p)


@TRANSFORMS.register_module()
class ClipAugment(BaseTransform):
    """Augment each clip with its own random parameters (same for its frames).

    ``results['imgs']`` holds ``num_clips * clip_len`` RGB uint8 frames
    (H, W, 3), clip-major (as produced by :class:`SampleClipPair` +
    ``DecordDecode``). For every clip ``c`` one parameter set is drawn and
    applied to all of its frames, in this order:

    1. geometry: ``crop='random'``: resize so the short side is
       ``s ~ U{scale[0], ..., scale[1]}`` (aspect kept), then a random
       ``crop_size`` x ``crop_size`` crop; ``crop='random_resized'``: a box of
       area fraction ``U(area)`` and log-uniform aspect ratio in ``aspect``
       (10 tries, then a centre crop, as torchvision's RandomResizedCrop),
       resized to ``crop_size``;
    2. horizontal flip with probability ``flip_p``;
    3. with probability ``color_jitter_p``: brightness, contrast, saturation
       factors ``U[max(0, 1 - j), 1 + j]`` and a hue shift ``U[-j_h, j_h]``
       (fraction of the hue circle), applied in a random order when
       ``random_order``; contrast blends with the mean luma of the whole clip;
    4. grayscale with probability ``grayscale_p``;
    5. Gaussian blur with probability ``blur_p``, sigma ``U(blur_sigma)``,
       odd kernel of about 10 % of ``crop_size`` (23 px at 224).

    Randomness comes from numpy's global generator (seeded per worker by
    mmengine), so a seeded run is deterministic.

    Required keys: ``imgs`` and, unless ``clip_len`` is given here,
    ``clip_len`` (``num_clips`` is checked when present).
    Modified keys: ``imgs`` (list of (crop_size, crop_size, 3) uint8 frames,
    same order), ``img_shape``. Added key: ``clip_aug_params``, a list with
    one dict per clip: ``resized_shape`` (h, w) of the frame the box was cut
    from, ``scale`` (short side or ``None``), ``crop_box`` (x, y, w, h) in
    that frame, ``flip``, ``color_jitter`` (``None`` or dict of
    ``brightness``, ``contrast``, ``saturation``, ``hue``, ``order``),
    ``grayscale``, ``blur_sigma`` (``None`` when not blurred).

    Args:
        scale: short-side range for ``crop='random'``.
        crop_size: output side length.
        crop: ``'random'`` (scale jitter + crop) or ``'random_resized'``.
        area: area-fraction range for ``'random_resized'``.
        aspect: aspect-ratio (w / h) range for ``'random_resized'``.
        color_jitter: (brightness, contrast, saturation, hue) strengths;
            ``None`` disables jitter.
        color_jitter_p: probability of applying colour jitter to a clip.
        random_order: apply the four jitter ops in a random order.
        grayscale_p: probability of converting a clip to grayscale.
        blur_p: probability of blurring a clip.
        blur_sigma: (min, max) Gaussian sigma in pixels.
        blur_kernel: odd kernel size; ``None``: about 10 % of ``crop_size``.
        flip_p: probability of a horizontal flip.
        clip_len: frames per clip; ``None`` reads ``results['clip_len']``.
            ``1`` augments every frame independently (VCLR).
    """

    def __init__(self,
                 scale: Sequence[int] = (256, 320),
                 crop_size: int = 224,
                 crop: str = 'random',
                 area: Sequence[float] = (0.2, 1.0),
                 aspect: Sequence[float] = (3 / 4, 4 / 3),
                 color_jitter: Optional[Sequence[float]] = (0.4, 0.4, 0.4,
                                                            0.1),
                 color_jitter_p: float = 0.8,
                 random_order: bool = True,
                 grayscale_p: float = 0.2,
                 blur_p: float = 0.5,
                 blur_sigma: Sequence[float] = (0.1, 2.0),
                 blur_kernel: Optional[int] = None,
                 flip_p: float = 0.2,
                 clip_len: Optional[int] = None) -> None:
        if crop not in ('random', 'random_resized'):
            raise ValueError("ClipAugment: crop must be 'random' or "
                             f"'random_resized', got {crop!r}")
        if int(crop_size) != crop_size or crop_size < 1:
            raise ValueError('ClipAugment: crop_size must be a positive int, '
                             f'got {crop_size!r}')
        self.crop = crop
        self.crop_size = int(crop_size)
        self.scale = tuple(int(s) for s in scale)
        _check_range('scale', self.scale, 1)
        if crop == 'random' and self.scale[0] < self.crop_size:
            raise ValueError(
                f'ClipAugment: scale {self.scale} must not go below '
                f'crop_size={self.crop_size} (the crop would not fit)')
        self.area = _check_range('area', area, 0.0)
        if self.area[1] > 1.0 or self.area[1] <= 0.0:
            raise ValueError(f'ClipAugment: area must lie in (0, 1], got '
                             f'{area!r}')
        self.aspect = _check_range('aspect', aspect, 1e-6)
        if color_jitter is not None:
            if len(color_jitter) != 4 or min(color_jitter) < 0 or \
                    color_jitter[3] > 0.5:
                raise ValueError(
                    'ClipAugment: color_jitter must be (brightness, contrast, '
                    'saturation, hue) with non-negative values and hue <= '
                    f'0.5, got {color_jitter!r}')
            color_jitter = tuple(float(v) for v in color_jitter)
        self.color_jitter = color_jitter
        self.color_jitter_p = _check_prob('color_jitter_p', color_jitter_p)
        self.random_order = bool(random_order)
        self.grayscale_p = _check_prob('grayscale_p', grayscale_p)
        self.blur_p = _check_prob('blur_p', blur_p)
        self.blur_sigma = _check_range('blur_sigma', blur_sigma, 1e-6)
        if blur_kernel is None:
            blur_kernel = int(round(0.1 * self.crop_size)) // 2 * 2 + 1
        if blur_kernel < 1 or blur_kernel % 2 != 1:
            raise ValueError('ClipAugment: blur_kernel must be a positive odd '
                             f'int, got {blur_kernel!r}')
        self.blur_kernel = int(blur_kernel)
        self.flip_p = _check_prob('flip_p', flip_p)
        if clip_len is not None and (int(clip_len) != clip_len
                                     or clip_len < 1):
            raise ValueError('ClipAugment: clip_len must be a positive int '
                             f'or None, got {clip_len!r}')
        self.clip_len = None if clip_len is None else int(clip_len)

    # ------------------------------------------------------------------
    # parameter draws (numpy global RNG)
    def _draw_geometry(self, h: int, w: int) -> Dict:
        cs = self.crop_size
        if self.crop == 'random':
            s = int(np.random.randint(self.scale[0], self.scale[1] + 1))
            if h <= w:
                nh, nw = s, max(cs, int(round(w * s / h)))
            else:
                nh, nw = max(cs, int(round(h * s / w))), s
            y = int(np.random.randint(0, nh - cs + 1))
            x = int(np.random.randint(0, nw - cs + 1))
            return dict(resized_shape=(nh, nw), scale=s,
                        crop_box=(x, y, cs, cs))
        # random resized crop (torchvision's algorithm)
        total = h * w
        log_lo, log_hi = math.log(self.aspect[0]), math.log(self.aspect[1])
        for _ in range(10):
            target = total * np.random.uniform(*self.area)
            ratio = math.exp(np.random.uniform(log_lo, log_hi))
            bw = int(round(math.sqrt(target * ratio)))
            bh = int(round(math.sqrt(target / ratio)))
            if 0 < bw <= w and 0 < bh <= h:
                y = int(np.random.randint(0, h - bh + 1))
                x = int(np.random.randint(0, w - bw + 1))
                return dict(resized_shape=(h, w), scale=None,
                            crop_box=(x, y, bw, bh))
        in_ratio = w / h
        if in_ratio < self.aspect[0]:
            bw, bh = w, int(round(w / self.aspect[0]))
        elif in_ratio > self.aspect[1]:
            bw, bh = int(round(h * self.aspect[1])), h
        else:
            bw, bh = w, h
        return dict(resized_shape=(h, w), scale=None,
                    crop_box=((w - bw) // 2, (h - bh) // 2, bw, bh))

    def _draw_params(self, h: int, w: int) -> Dict:
        params = self._draw_geometry(h, w)
        params['flip'] = bool(np.random.rand() < self.flip_p)
        jitter = None
        if self.color_jitter is not None and \
                np.random.rand() < self.color_jitter_p:
            b, c, s, hue = self.color_jitter
            jitter = dict(
                brightness=float(np.random.uniform(max(0., 1 - b), 1 + b)),
                contrast=float(np.random.uniform(max(0., 1 - c), 1 + c)),
                saturation=float(np.random.uniform(max(0., 1 - s), 1 + s)),
                hue=float(np.random.uniform(-hue, hue)),
                order=[int(i) for i in (np.random.permutation(4)
                                        if self.random_order else range(4))])
        params['color_jitter'] = jitter
        params['grayscale'] = bool(np.random.rand() < self.grayscale_p)
        params['blur_sigma'] = (float(np.random.uniform(*self.blur_sigma))
                                if np.random.rand() < self.blur_p else None)
        return params

    # ------------------------------------------------------------------
    # application to one clip (T, H, W, 3) uint8
    def _geometry(self, clip: np.ndarray, p: Dict) -> np.ndarray:
        cs = self.crop_size
        x, y, bw, bh = p['crop_box']
        out = np.empty((clip.shape[0], cs, cs, 3), dtype=np.uint8)
        if self.crop == 'random':
            nh, nw = p['resized_shape']
            for t, frame in enumerate(clip):
                if (nh, nw) != frame.shape[:2]:
                    frame = cv2.resize(frame, (nw, nh),
                                       interpolation=cv2.INTER_LINEAR)
                out[t] = frame[y:y + bh, x:x + bw]
        else:
            for t, frame in enumerate(clip):
                out[t] = cv2.resize(
                    np.ascontiguousarray(frame[y:y + bh, x:x + bw]),
                    (cs, cs), interpolation=cv2.INTER_LINEAR)
        return out

    @staticmethod
    def _jitter(x: np.ndarray, p: Dict) -> np.ndarray:
        """Colour jitter of a float32 clip (T, H, W, 3) in [0, 255].

        Works in place on ``x`` (a private copy); returns the result.
        """
        for op in p['order']:
            if op == 0:  # brightness
                x *= p['brightness']
            elif op == 1:  # contrast: blend with the clip's mean luma
                m = float(_gray(x).mean())
                x *= p['contrast']
                x += m * (1.0 - p['contrast'])
            elif op == 2:  # saturation: blend with per-pixel luma
                g = _gray(x)[..., None]
                g *= 1.0 - p['saturation']
                x *= p['saturation']
                x += g
            elif p['hue'] != 0.0:  # hue rotation in HSV, whole clip at once
                t, h, w, _ = x.shape
                x *= 1.0 / 255.0
                hsv = cv2.cvtColor(x.reshape(t * h, w, 3), cv2.COLOR_RGB2HSV)
                hue = hsv[..., 0]
                hue += 360.0 * p['hue']
                np.mod(hue, 360.0, out=hue)
                x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).reshape(t, h, w, 3)
                x *= 255.0
            np.clip(x, 0.0, 255.0, out=x)
        return x

    def _augment_clip(self, clip: np.ndarray, p: Dict) -> np.ndarray:
        out = self._geometry(clip, p)
        if p['flip']:
            out = out[:, :, ::-1]
        if p['color_jitter'] is None and not p['grayscale'] and \
                p['blur_sigma'] is None:
            return out
        x = np.ascontiguousarray(out, dtype=np.float32)  # private copy
        if p['color_jitter'] is not None:
            x = self._jitter(x, p['color_jitter'])
        if p['grayscale']:
            x = np.repeat(_gray(x)[..., None], 3, axis=-1)
        if p['blur_sigma'] is not None:
            k, s = self.blur_kernel, p['blur_sigma']
            for t in range(x.shape[0]):
                x[t] = cv2.GaussianBlur(x[t], (k, k), sigmaX=s, sigmaY=s,
                                        borderType=cv2.BORDER_REFLECT_101)
        np.clip(x, 0.0, 255.0, out=x)
        return np.rint(x, out=x).astype(np.uint8)

    # ------------------------------------------------------------------
    def transform(self, results: Dict) -> Dict:
        """Augment ``results['imgs']`` clip by clip; see the class doc."""
        imgs: Union[List[np.ndarray], np.ndarray] = results['imgs']
        frames = np.asarray(imgs)
        if frames.ndim != 4 or frames.shape[-1] != 3 or \
                frames.dtype != np.uint8:
            raise ValueError('ClipAugment expects uint8 RGB frames (H, W, 3) '
                             f'of one size, got array {frames.shape} '
                             f'{frames.dtype}')
        clip_len = self.clip_len or int(results['clip_len'])
        n = frames.shape[0]
        if n % clip_len != 0:
            raise ValueError(f'ClipAugment: {n} frames is not a multiple of '
                             f'clip_len={clip_len}')
        num_clips = n // clip_len
        if self.clip_len is None and 'num_clips' in results and \
                int(results['num_clips']) != num_clips:
            raise ValueError(
                f'ClipAugment: {n} frames != num_clips '
                f'({results["num_clips"]}) x clip_len ({clip_len})')
        h, w = frames.shape[1:3]
        cs = self.crop_size
        out = np.empty((n, cs, cs, 3), dtype=np.uint8)
        all_params = []
        for c in range(num_clips):
            p = self._draw_params(h, w)
            sl = slice(c * clip_len, (c + 1) * clip_len)
            out[sl] = self._augment_clip(frames[sl], p)
            all_params.append(p)
        results['imgs'] = list(out)
        results['img_shape'] = (cs, cs)
        results['clip_aug_params'] = all_params
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop={self.crop!r}, '
                f'scale={self.scale}, crop_size={self.crop_size}, '
                f'area={self.area}, aspect={self.aspect}, '
                f'color_jitter={self.color_jitter}, '
                f'color_jitter_p={self.color_jitter_p}, '
                f'random_order={self.random_order}, '
                f'grayscale_p={self.grayscale_p}, blur_p={self.blur_p}, '
                f'blur_sigma={self.blur_sigma}, '
                f'blur_kernel={self.blur_kernel}, flip_p={self.flip_p}, '
                f'clip_len={self.clip_len})')
