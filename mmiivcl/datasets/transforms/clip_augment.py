"""Per-clip augmentation: independent parameters per clip, shared by frames.

The IIVCL paper (Sec. 3.3.2) augments each of the ρ clips independently with
random short-side resize in [256, 320], random crop 224, colour jitter (0.4,
p=0.8), grayscale (p=0.2), Gaussian blur (p=0.5) and horizontal flip (p=0.2);
every frame of one clip receives the same parameters, so the clip stays
temporally coherent. VCLR (VCLR paper) uses the MoCo-v2 recipe (random resized
crop) on single frames: ``clip_len=1`` makes every frame its own clip.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS

# ITU-R 601-2 luma, as torchvision's rgb_to_grayscale (and OpenCV's
# RGB2GRAY for float images)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
_LEVELS = np.arange(256, dtype=np.float32)  # uint8 values, for look-up tables


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
    :class:`DecordDecodeClips`), as a list (read in place, never stacked) or
    an array. For every clip ``c`` one parameter set is drawn and applied to
    all of its frames, in this order:

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
       odd kernel of about 10 % of ``crop_size`` (23 px at 224; taps beyond
       5 sigma, which carry < 6e-7 of the mass, are skipped).

    Cost: the geometry writes straight into the uint8 output
    (one resize per frame into a reused buffer, crop and flip in one copy);
    the photometric ops are SIMD OpenCV calls (look-up tables, a 3x3 colour
    matrix, an HSV hue shift, threshold clamps) applied frame by frame while
    the frame is in cache (clip-wide float passes are bound by memory
    bandwidth), grayscale continues on one channel, and the result is
    rounded back into the uint8 output in one pass. Frames stay uint8
    outside this transform; normalisation is left to the data preprocessor.

    Deferred photometric ops (``defer_photometric=True``): the same
    parameters are drawn (same random stream), but only the geometry and the
    flip are applied here; colour jitter, grayscale and blur are left to the
    model's :class:`~mmiivcl.models.ClipAugmentPreprocessor`, which applies
    them to the batch on the training device from ``clip_aug_params`` (add it
    to ``PackActionInputs``' ``meta_keys``). The worker then costs decode +
    geometry only; the two paths agree within one grey level.

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
    ``grayscale``, ``blur_sigma`` (``None`` when not blurred), ``blur_ksize``
    (the kernel applied, ``None`` when not blurred), ``deferred`` (the
    photometric ops are left to the data preprocessor).

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
        defer_photometric: draw the photometric parameters but leave their
            application to ``ClipAugmentPreprocessor`` (GPU machines).
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
                 clip_len: Optional[int] = None,
                 defer_photometric: bool = False) -> None:
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
        self.defer_photometric = bool(defer_photometric)

    @property
    def defers_photometric(self) -> bool:
        """Whether the photometric ops are left to the data preprocessor
        (read by PretrainConfigCheckHook)."""
        return self.defer_photometric

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
        params['blur_ksize'] = (None if params['blur_sigma'] is None else
                                self._blur_ksize(params['blur_sigma']))
        params['deferred'] = self.defer_photometric
        return params

    # ------------------------------------------------------------------
    # application to one clip: uint8 frames in, uint8 (T, cs, cs, 3) out
    def _geometry(self, frames: Sequence[np.ndarray], p: Dict,
                  out: np.ndarray) -> None:
        """Resize + crop (+ flip) every frame of one clip into ``out``.

        ``crop='random'`` resizes the whole frame (so every output pixel is
        exactly ``cv2.resize(frame)[y:y + cs, x:x + cs]``) into one scratch
        buffer reused by the clip's frames; the crop (and the flip) is then a
        single copy into ``out``.
        """
        cs = self.crop_size
        x, y, bw, bh = p['crop_box']
        flip = p['flip']
        if self.crop == 'random':
            nh, nw = p['resized_shape']
            scratch = None
            for t, frame in enumerate(frames):
                if (nh, nw) != frame.shape[:2]:
                    if scratch is None:
                        scratch = np.empty((nh, nw, 3), dtype=np.uint8)
                    cv2.resize(frame, (nw, nh), dst=scratch,
                               interpolation=cv2.INTER_LINEAR)
                    frame = scratch
                box = frame[y:y + bh, x:x + bw]
                if flip:
                    cv2.flip(box, 1, dst=out[t])
                else:
                    out[t] = box
        else:
            for t, frame in enumerate(frames):
                cv2.resize(frame[y:y + bh, x:x + bw], (cs, cs), dst=out[t],
                           interpolation=cv2.INTER_LINEAR)
                if flip:
                    cv2.flip(out[t], 1, dst=out[t])

    @staticmethod
    def _clip_range(x: np.ndarray) -> np.ndarray:
        """Clamp a float32 array to [0, 255] in place (two SIMD passes)."""
        cv2.threshold(x, 255.0, 255.0, cv2.THRESH_TRUNC, dst=x)
        cv2.threshold(x, 0.0, 0.0, cv2.THRESH_TOZERO, dst=x)
        return x

    @classmethod
    def _jitter_op(cls, op: int, x: Optional[np.ndarray], u: np.ndarray,
                   j: Dict, mean_luma: Optional[float],
                   dst: Optional[np.ndarray]) -> np.ndarray:
        """One colour-jitter op on one frame, clamped to [0, 255].

        Args:
            op: 0 brightness, 1 contrast, 2 saturation, 3 hue.
            x: float32 (H, W, 3) state, or ``None`` before the first op (then
                the op reads the uint8 frame ``u``).
            u: the uint8 frame (H, W, 3).
            j: the clip's jitter parameters.
            mean_luma: for contrast, the mean luma of the whole clip in its
                current state.
            dst: float32 (H, W, 3) buffer for the first op's output.

        Brightness / contrast as the first op are a 256-entry look-up table
        on the uint8 frame (conversion, scaling and clamping in one pass);
        saturation is one 3x3 colour matrix (``cv2.transform``); hue shifts
        the HSV hue channel (OpenCV's float HSV is scale-free, so no
        rescaling to [0, 1]; hues in [360, 720) wrap).
        """
        if op in (0, 1):
            f = j['brightness'] if op == 0 else j['contrast']
            shift = 0.0 if op == 0 else mean_luma * (1.0 - f)
            if x is None:
                lut = np.clip(_LEVELS * f + shift, 0.0, 255.0)
                return cv2.LUT(u, lut.astype(np.float32), dst=dst)
            x *= f
            if shift:
                x += shift
        else:
            if x is None:
                x = dst
                x[...] = u
            if op == 2:
                f = j['saturation']
                mat = (f * np.eye(3) + (1.0 - f) * _LUMA[None, :]).astype(
                    np.float32)
                cv2.transform(x, mat, dst=x)
            elif j['hue'] != 0.0:
                hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
                cv2.add(hsv, ((360.0 * j['hue']) % 360.0, 0.0, 0.0, 0.0),
                        dst=hsv)
                cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB, dst=x)
        return cls._clip_range(x)

    def _blur_ksize(self, sigma: float) -> int:
        """Kernel actually applied for ``sigma``: ``blur_kernel``, truncated
        to a radius of ceil(5 sigma) when that is smaller. The Gaussian mass
        beyond 5 sigma is < 6e-7, so the result differs from the full
        ``blur_kernel`` by < 1e-3 grey levels, at a fraction of the cost."""
        return min(self.blur_kernel, 2 * int(math.ceil(5.0 * sigma)) + 1)

    def _finish(self, x: Optional[np.ndarray], u: np.ndarray, p: Dict,
                out: np.ndarray, scratch: np.ndarray) -> None:
        """Grayscale and blur one frame, round it into ``out`` (uint8)."""
        if x is None:  # no jitter
            x = scratch
            x[...] = u
        if p['grayscale']:  # one channel from here on
            x = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        if p['blur_sigma'] is not None:
            s = p['blur_sigma']
            k = p.get('blur_ksize') or self._blur_ksize(s)
            x = cv2.GaussianBlur(x, (k, k), sigmaX=s, sigmaY=s,
                                 borderType=cv2.BORDER_REFLECT_101)
        # round and saturate to uint8, written into the output frame
        if x.ndim == 2:
            cv2.cvtColor(cv2.convertScaleAbs(x), cv2.COLOR_GRAY2RGB, dst=out)
        else:
            cv2.convertScaleAbs(x, dst=out)

    def _augment_clip(self, frames: Sequence[np.ndarray], p: Dict,
                      out: np.ndarray) -> None:
        """All ops of one clip, written into ``out`` (T, cs, cs, 3) uint8.

        The photometric ops run frame by frame, all of them while the frame
        is in cache: on a (T*H, W, 3) float32 clip every op would be a trip
        through main memory (about 5 MB each way at 8x224^2), which costs
        more than the arithmetic. The one clip-wide quantity, the mean luma
        that contrast blends with, splits the work into two sweeps when
        contrast follows other ops: the ops before it (storing the float
        frames and their luma), then contrast and the rest.
        """
        self._geometry(frames, p, out)
        if p.get('deferred'):  # ClipAugmentPreprocessor applies the rest
            return
        j = p['color_jitter']
        if j is None and not p['grayscale'] and p['blur_sigma'] is None:
            return
        ops = list(j['order']) if j is not None else []
        if j is not None and j['hue'] == 0.0:
            ops = [op for op in ops if op != 3]
        t = out.shape[0]
        before = ops[:ops.index(1)] if 1 in ops else ops
        after = ops[len(before):]
        frame_buf = np.empty(out.shape[1:], dtype=np.float32)
        mean_luma, state = None, None
        if before and after:  # contrast after other ops: two sweeps
            state = np.empty(out.shape, dtype=np.float32)
            chans = np.zeros(3)
            for i in range(t):
                x = None
                for op in before:
                    x = self._jitter_op(op, x, out[i], j, None, state[i])
                if not np.shares_memory(x, state[i]):
                    state[i] = x
                chans += cv2.mean(x)[:3]
            mean_luma = float(np.dot(chans / t, _LUMA))
            ops = after
        elif after:  # contrast first: the mean luma of the uint8 clip
            mean_luma = float(np.dot(cv2.mean(
                out.reshape(-1, out.shape[2], 3))[:3], _LUMA))
        for i in range(t):
            x = None if state is None else state[i]
            dst = frame_buf if state is None else state[i]
            for op in ops:
                x = self._jitter_op(op, x, out[i], j, mean_luma, dst)
            self._finish(x, out[i], p, out[i], frame_buf)

    # ------------------------------------------------------------------
    @staticmethod
    def _frames(imgs: Union[List[np.ndarray], np.ndarray]) -> Tuple:
        """Validate the input frames without stacking them (no copy).

        Returns ``(frames, n, h, w)``; ``frames`` indexable by frame.
        """
        if isinstance(imgs, np.ndarray):
            ok = imgs.ndim == 4 and imgs.shape[-1] == 3 and \
                imgs.dtype == np.uint8
            desc = f'array {imgs.shape} {imgs.dtype}'
        else:
            imgs = list(imgs)
            first = imgs[0] if imgs else None
            ok = first is not None and all(
                isinstance(f, np.ndarray) and f.dtype == np.uint8
                and f.ndim == 3 and f.shape == first.shape for f in imgs) \
                and first.shape[-1] == 3
            desc = 'frames ' + (f'{first.shape} {first.dtype}' if isinstance(
                first, np.ndarray) else repr(type(first)))
        if not ok:
            raise ValueError('ClipAugment expects uint8 RGB frames (H, W, 3) '
                             f'of one size, got {desc}')
        h, w = imgs[0].shape[:2]
        return imgs, len(imgs), h, w

    def transform(self, results: Dict) -> Dict:
        """Augment ``results['imgs']`` clip by clip; see the class doc."""
        frames, n, h, w = self._frames(results['imgs'])
        clip_len = self.clip_len or int(results['clip_len'])
        if n % clip_len != 0:
            raise ValueError(f'ClipAugment: {n} frames is not a multiple of '
                             f'clip_len={clip_len}')
        num_clips = n // clip_len
        if self.clip_len is None and 'num_clips' in results and \
                int(results['num_clips']) != num_clips:
            raise ValueError(
                f'ClipAugment: {n} frames != num_clips '
                f'({results["num_clips"]}) x clip_len ({clip_len})')
        cs = self.crop_size
        out = np.empty((n, cs, cs, 3), dtype=np.uint8)
        all_params = []
        for c in range(num_clips):
            p = self._draw_params(h, w)
            sl = slice(c * clip_len, (c + 1) * clip_len)
            self._augment_clip(frames[sl], p, out[sl])
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
                f'clip_len={self.clip_len}, '
                f'defer_photometric={self.defer_photometric})')
