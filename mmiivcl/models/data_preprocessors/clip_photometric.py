"""ClipAugment's photometric ops in torch, batched over clips (any device).

The same maths as the CPU path of :class:`~mmiivcl.datasets.ClipAugment`
(IIVCL paper, Sec. 3.3.2: colour jitter, grayscale, Gaussian blur, each clip
with its own parameters shared by its frames), for clips whose parameters the
worker drew but did not apply (``ClipAugment(defer_photometric=True)``). Every
op works on float values in [0, 255] and clamps to that range, as the CPU path
does; the result is rounded once at the end. Clips with different parameters
(and a different jitter order) go through in one batch: at each of the four
jitter steps the clips are grouped by the op they apply.
"""
import math
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: ITU-R 601-2 luma, as the CPU path and torchvision's rgb_to_grayscale
LUMA = (0.299, 0.587, 0.114)


def _luma(x: Tensor) -> Tensor:
    """(n, 3, ...) -> (n, ...) luma."""
    return x[:, 0] * LUMA[0] + x[:, 1] * LUMA[1] + x[:, 2] * LUMA[2]


def _per_clip(v: Tensor, x: Tensor) -> Tensor:
    """(n,) -> (n, 1, 1, ...) broadcastable against x (n, C, ...)."""
    return v.view(-1, *([1] * (x.dim() - 1)))


def adjust_brightness(x: Tensor, f: Tensor) -> Tensor:
    """x (n, 3, T, H, W) * f (n,), clamped; in place on ``x``."""
    return x.mul_(_per_clip(f, x)).clamp_(0.0, 255.0)


def adjust_contrast(x: Tensor, f: Tensor) -> Tensor:
    """Blend with the mean luma of each whole clip: x f + m (1 - f); in
    place on ``x``."""
    m = _luma(x).flatten(1).mean(1)
    return x.mul_(_per_clip(f, x)).add_(_per_clip(m * (1.0 - f), x)).clamp_(
        0.0, 255.0)


def adjust_saturation(x: Tensor, f: Tensor) -> Tensor:
    """Blend with the per-pixel luma: x f + luma (1 - f); in place on
    ``x``."""
    g = _luma(x).unsqueeze(1)
    return x.mul_(_per_clip(f, x)).add_(g * _per_clip(1.0 - f, x)).clamp_(
        0.0, 255.0)


def adjust_hue(x: Tensor, shift: Tensor) -> Tensor:
    """Rotate the HSV hue by ``shift`` (n,) fractions of the circle (a new
    tensor).

    RGB -> HSV -> RGB as Python's ``colorsys`` (hue in [0, 1), grey pixels
    keep hue 0 and saturation 0, so they do not change).
    """
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    delta = maxc - minc
    grey = delta <= 0
    safe = torch.where(grey, torch.ones_like(delta), delta)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(r == maxc, bc - gc,
                    torch.where(g == maxc, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(grey, torch.zeros_like(h), h)
    h = torch.remainder(h / 6.0 + _per_clip(shift, h), 1.0)
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc,
                                                  torch.ones_like(maxc)),
                    torch.zeros_like(maxc))
    v = maxc
    h6 = h * 6.0
    i = torch.floor(h6)
    fr = h6 - i
    i = torch.remainder(i, 6.0)  # h6 may round up to 6.0
    p = v * (1.0 - s)
    q = v * (1.0 - s * fr)
    t = v * (1.0 - s * (1.0 - fr))
    # sector i -> (r, g, b): 0 (v, t, p), 1 (q, v, p), 2 (p, v, t),
    # 3 (p, q, v), 4 (t, p, v), 5 (v, p, q)
    r2 = torch.where((i == 0) | (i == 5), v,
                     torch.where(i == 1, q, torch.where(i == 4, t, p)))
    g2 = torch.where((i == 1) | (i == 2), v,
                     torch.where(i == 0, t, torch.where(i == 3, q, p)))
    b2 = torch.where((i == 3) | (i == 4), v,
                     torch.where(i == 2, t, torch.where(i == 5, q, p)))
    return torch.stack([r2, g2, b2], dim=1).clamp_(0.0, 255.0)


_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
_FACTOR = ('brightness', 'contrast', 'saturation', 'hue')


def gaussian_kernels(sigmas: Sequence[float], ksizes: Sequence[int],
                     device=None) -> Tensor:
    """(n, K) 1-D Gaussian taps, each of its own odd size centred in the
    largest one K (zeros outside): a truncated kernel equals the larger one
    with zero taps, so all clips share one padding. Float32 on ``device``
    (built on the host)."""
    big = max(ksizes)
    out = torch.zeros(len(sigmas), big, dtype=torch.float64)
    for j, (s, k) in enumerate(zip(sigmas, ksizes)):
        r = torch.arange(k, dtype=torch.float64) - k // 2
        g = torch.exp(-r * r / (2.0 * s * s))
        lo = (big - k) // 2
        out[j, lo:lo + k] = g / g.sum()
    return out.to(device=device, dtype=torch.float32)


def gaussian_blur(x: Tensor, kernels: Tensor) -> Tensor:
    """Separable blur of every frame of each clip, reflect-101 borders.

    Args:
        x: (n, C, T, H, W).
        kernels: (n, K) taps per clip (:func:`gaussian_kernels`).
    """
    n, c, t, h, w = x.shape
    k = kernels.shape[1]
    planes = x.reshape(1, n * c * t, h, w)
    # torch's 'reflect' mirrors without repeating the edge (OpenCV's
    # BORDER_REFLECT_101)
    planes = F.pad(planes, (k // 2, k // 2, k // 2, k // 2), mode='reflect')
    taps = kernels.repeat_interleave(c * t, dim=0)  # (n*c*t, K)
    planes = F.conv2d(planes, taps.view(-1, 1, 1, k), groups=n * c * t)
    planes = F.conv2d(planes, taps.view(-1, 1, k, 1), groups=n * c * t)
    return planes.view(n, c, t, h, w)


def apply_clip_photometric(x: Tensor, params: List[Dict],
                           inplace: bool = False) -> Tensor:
    """Colour jitter, grayscale and blur of each clip, then rounding.

    Args:
        x: (n, 3, T, H, W) values in [0, 255] (RGB), one clip per row.
        params: n dicts as ClipAugment's ``clip_aug_params`` (keys
            ``color_jitter``, ``grayscale``, ``blur_sigma``, ``blur_ksize``).
        inplace: ``x`` is a float32 tensor the caller gives up: it is
            overwritten (no copy of the batch is made).

    Returns:
        (n, 3, T, H, W) float32, whole numbers in [0, 255] (what the CPU
        path stores as uint8).
    """
    if x.dim() != 5 or x.shape[1] != 3:
        raise ValueError('apply_clip_photometric expects (n, 3, T, H, W) RGB '
                         f'clips, got {tuple(x.shape)}')
    if len(params) != x.shape[0]:
        raise ValueError(f'apply_clip_photometric: {len(params)} parameter '
                         f'sets for {x.shape[0]} clips')
    if inplace and x.dtype != torch.float32:
        raise TypeError('apply_clip_photometric(inplace=True) needs a '
                        f'float32 tensor, got {x.dtype}')
    # mmengine runs the data preprocessor inside the AMP context: bf16 has
    # a step of 1 grey level above 128, so the ops stay in float32
    with torch.autocast(device_type=x.device.type, enabled=False):
        return _apply(x if inplace else x.float().clone(), params)


def _plan(params: List[Dict]) -> List[tuple]:
    """What to do, in order: ``(op, rows, values)`` with op 0..3 the
    jitter ops (values: factors), 'gray' (no values) or 'blur' (values: the
    (rows, K) taps, flattened)."""
    jit = [p.get('color_jitter') for p in params]
    plan = []
    for step in range(4):
        for op in range(4):
            sel = [i for i, j in enumerate(jit) if j is not None and
                   len(j['order']) > step and j['order'][step] == op and
                   (op != 3 or j['hue'] != 0.0)]
            if sel:
                plan.append((op, sel, torch.tensor(
                    [jit[i][_FACTOR[op]] for i in sel], dtype=torch.float32)))
    gray = [i for i, p in enumerate(params) if p.get('grayscale')]
    if gray:
        plan.append(('gray', gray, torch.zeros(0)))
    blur = [i for i, p in enumerate(params)
            if p.get('blur_sigma') is not None]
    if blur:
        sig = [params[i]['blur_sigma'] for i in blur]
        ks = [int(params[i].get('blur_ksize') or
                  2 * int(math.ceil(5.0 * params[i]['blur_sigma'])) + 1)
              for i in blur]
        plan.append(('blur', blur, gaussian_kernels(sig, ks)))
    return plan


def _apply(x: Tensor, params: List[Dict]) -> Tensor:
    """apply_clip_photometric on a float32 tensor it may overwrite,
    autocast off. Every row index, factor and blur tap travels to the
    device in one copy; an op that every clip applies at a step runs on the
    whole batch without a gather."""
    n = x.shape[0]
    plan = _plan(params)
    if not plan:
        return x.round_().clamp_(0.0, 255.0)
    host = torch.cat([torch.cat([torch.tensor(rows, dtype=torch.float32),
                                 vals.flatten()]) for _, rows, vals in plan])
    dev = host.to(x.device)  # indices < 2**24 are exact in float32
    at = 0
    for op, rows, vals in plan:
        idx = dev[at:at + len(rows)].long()
        v = dev[at + len(rows):at + len(rows) + vals.numel()]
        at += len(rows) + vals.numel()
        every = len(rows) == n  # rows are sorted and distinct
        part = x if every else x[idx]  # a gather copies
        if op == 'gray':
            part = _luma(part).unsqueeze(1).expand(-1, 3, -1, -1, -1)
        elif op == 'blur':
            part = gaussian_blur(part, v.view(len(rows), -1))
        else:
            part = _OPS[op](part, v)
        if every:
            x = part if part.is_contiguous() else part.contiguous()
        else:
            x[idx] = part
    return x.round_().clamp_(0.0, 255.0)
