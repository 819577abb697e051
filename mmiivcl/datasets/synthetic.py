"""Synthetic labelled videos whose classes differ only in MOTION PATTERN.

The project's demo must run without any download
(docs/design.md#demo-data-without-download), so it trains and
evaluates on a small video set generated here. Each class is a motion pattern
of one foreground object (translation in four directions, clockwise and
anticlockwise circles, expansion, shrinking, horizontal and vertical shaking).
Nothing else says anything about the class. A video's *scene* -- object
shape and colours, a textured background (smooth blobs, stripes or a
checkerboard in two random colours plus static noise) and 2-5 static
distractor shapes -- is random; the colours drift slowly within a video
(``drift``). Its *camera* (a slow pan, per-frame jitter, flicker, sensor
noise) and the object's placement, size and motion parameters (speed,
direction within +-15 degrees, period, orbit) are drawn per video.

By default (``looks=8``) the scenes come from a pool of 8 random looks that
every class uses alike, as a data set filmed in a few rooms: the room says
nothing about the action. With ``looks=0`` every video draws a scene of its
own. The pool is what lets the CPU demo learn: when each video has its own
scene, telling videos apart by their scene is so much easier than by their
motion that ~1000 CPU steps of instance discrimination learn scenes only
(docs/demo_notes.md has the measurements). Either way neither colour nor
appearance separates the classes, but a network that encodes motion does: a
random backbone retrieves near chance, a backbone that learnt motion
retrieves well.

The motion pattern is the same over the whole video (translation wraps around
the frame, expansion/shrinking are sawtooth cycles), so *any* clip of a video
shows its class.

Layout written by :func:`generate_demo_dataset` under ``out_dir``::

    videos/<class>/<class>_<k>.mp4   one video per file (mp4v in .mp4)
    classes.txt                      class names, line i = label i
    all_list.txt                     "<class>/<class>_<k>.mp4 <label>" per line
    train_list.txt                   the pretraining / gallery split
    query_list.txt                   held-out, class-stratified query split
    manifest.json                    parameters, split, per-video motion
    DONE                             written last; holds the parameter hash

List paths are relative to ``<out_dir>/videos`` (mmaction2 convention:
``VideoDataset(ann_file=ROOT + '/train_list.txt',
data_prefix=dict(video=ROOT + '/videos'))``).

Generation is deterministic given the seed: every video draws from its own
generator seeded with ``(seed, class, index)``, so the bytes do not depend on
the number of worker processes. Re-running with the same parameters is a no-op.

This module depends on numpy and OpenCV only (no torch/mmaction), so the CLI
``tools/generate_demo_data.py`` starts fast.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import math
import os
import os.path as osp
import shutil
import time
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Bump when the rendering changes, so that stale data sets are regenerated.
GENERATOR_VERSION = 3

#: The motion classes, in label order.
MOTION_CLASSES: Tuple[str, ...] = (
    'move_right',
    'move_left',
    'move_up',
    'move_down',
    'circle_clockwise',
    'circle_anticlockwise',
    'expand',
    'shrink',
    'shake_horizontal',
    'shake_vertical',
)

_SHAPES = ('disc', 'square', 'triangle', 'diamond', 'hexagon', 'star', 'cross',
           'ring')

# Base direction (unit vector in image coordinates, y pointing down).
_DIRECTIONS = {
    'move_right': 0.0,
    'move_left': math.pi,
    'move_up': -math.pi / 2,
    'move_down': math.pi / 2,
}


# --------------------------------------------------------------------------
# drawing helpers
# --------------------------------------------------------------------------
def _shape_polygon(shape: str, cx: float, cy: float, r: float,
                   angle: float) -> np.ndarray:
    """Vertices (V, 2) of a shape of circumradius ``r`` centred at (cx, cy)."""
    if shape == 'disc' or shape == 'ring':
        n, radii = 24, [1.0]
    elif shape == 'square':
        n, radii = 4, [1.0]
        angle = angle + math.pi / 4
    elif shape == 'diamond':
        n, radii = 4, [1.0]
    elif shape == 'triangle':
        n, radii = 3, [1.0]
    elif shape == 'hexagon':
        n, radii = 6, [1.0]
    elif shape == 'star':
        n, radii = 10, [1.0, 0.45]
    elif shape == 'cross':
        # 12-gon of a plus sign with arm half-width 0.35 r
        w = 0.35
        pts = np.array([[w, 1], [w, w], [1, w], [1, -w], [w, -w], [w, -1],
                        [-w, -1], [-w, -w], [-1, -w], [-1, w], [-w, w],
                        [-w, 1]], dtype=np.float64)
        c, s = math.cos(angle), math.sin(angle)
        rot = np.array([[c, -s], [s, c]])
        return pts @ rot.T * r + np.array([cx, cy])
    else:
        raise ValueError(f'unknown shape {shape!r}')
    t = angle + 2 * math.pi * np.arange(n) / n
    rad = r * np.array([radii[i % len(radii)] for i in range(n)])
    return np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], axis=1)


#: Fastest camera pan and the largest per-frame jitter, pixels at 64 px.
_MAX_PAN = 0.12
_JITTER = 0.6

_SHIFT = 4  # cv2 fractional bits: sub-pixel (1/16 px) anti-aliased drawing


@functools.lru_cache(maxsize=256)
def _fixed_point_polygon(shape: str, cx: float, cy: float, r: float,
                         angle: float) -> np.ndarray:
    """:func:`_shape_polygon` in cv2's fixed point (int32, ``_SHIFT`` bits).

    Cached: a distractor is drawn at the same place in every frame of a shot
    (only its colour drifts), so its vertices are computed once.
    """
    return np.round(_shape_polygon(shape, cx, cy, r, angle) *
                    (1 << _SHIFT)).astype(np.int32)


def _draw_shape(img: np.ndarray, shape: str, cx: float, cy: float, r: float,
                angle: float, color: Sequence[float],
                outline: bool = False) -> None:
    """Draw a filled (or, for 'ring', outlined) anti-aliased shape in place,
    optionally with a 1-px black/white outline (whichever contrasts)."""
    if r <= 0.3:
        return
    pts = _fixed_point_polygon(shape, cx, cy, r, angle)
    color = tuple(float(c) for c in color)
    if shape == 'ring':
        thick = max(1, int(round(r * 0.4)))
        cv2.polylines(img, [pts], True, color, thick, cv2.LINE_AA, _SHIFT)
    else:
        cv2.fillPoly(img, [pts], color, cv2.LINE_AA, _SHIFT)
    if outline:
        edge = (0.0, 0.0, 0.0) if _luma(np.asarray(color)) > 110 else (
            255.0, 255.0, 255.0)
        cv2.polylines(img, [pts], True, edge, 1, cv2.LINE_AA, _SHIFT)


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _color_with_luma(rng: np.random.Generator, lo: float,
                     hi: float) -> np.ndarray:
    """A random RGB colour with luma in [lo, hi] (grey fallback)."""
    lo, hi = max(lo, 0.0), min(hi, 255.0)
    for _ in range(64):
        c = rng.uniform(0, 255, 3)
        if lo <= _luma(c) <= hi:
            return c
    return np.full(3, 0.5 * (lo + hi))


def _contrasting_color(rng: np.random.Generator, refs: Sequence[np.ndarray],
                       min_diff: float = 50.0,
                       side: Optional[float] = None) -> Tuple[np.ndarray,
                                                              float]:
    """A colour whose luma is ``min_diff`` above (side +1) or below (side -1)
    the lumas of all ``refs``; a random feasible side when ``side`` is None
    or infeasible. Returns (colour, side)."""
    lumas = [_luma(r) for r in refs]
    above, below = max(lumas) + min_diff, min(lumas) - min_diff
    feasible = [sd for sd, ok in ((1.0, above <= 250), (-1.0, below >= 5))
                if ok]
    if not feasible:  # cannot happen for a span <= 90; be safe anyway
        feasible = [1.0 if 255 - max(lumas) > min(lumas) else -1.0]
    if side not in feasible:
        side = feasible[int(rng.integers(len(feasible)))]
    if side > 0:
        return _color_with_luma(rng, above, 255.0), side
    return _color_with_luma(rng, 0.0, below), side


def _color_pair(rng: np.random.Generator,
                max_luma_diff: float = 90.0) -> Tuple[np.ndarray, np.ndarray]:
    """Two random background colours whose lumas differ by <= max_luma_diff
    (so that some object luma contrasts with both)."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    d = _luma(c1) - _luma(c0)
    if abs(d) > max_luma_diff:
        c1 = c0 + (c1 - c0) * (max_luma_diff / abs(d))
    return c0, c1


def _background_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static texture, about [0, 1], (size, size): blobs/stripes/checker."""
    kind = rng.choice(['blobs', 'stripes', 'checker'], p=[0.5, 0.3, 0.2])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == 'blobs':
        g = int(rng.integers(3, 8))
        grid = rng.uniform(0, 1, (g, g)).astype(np.float32)
        field = cv2.resize(grid, (size, size),
                           interpolation=cv2.INTER_CUBIC).astype(np.float64)
    elif kind == 'stripes':
        theta = rng.uniform(0, math.pi)
        period = rng.uniform(10, 24) * size / 64.0
        phase = rng.uniform(0, 2 * math.pi)
        field = 0.5 + 0.5 * np.sin(
            2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) /
            period + phase)
    else:
        cell = rng.uniform(5, 12) * size / 64.0
        field = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2).astype(
            np.float64)
        field = cv2.GaussianBlur(field, (0, 0), 0.7)
    field = np.clip(field, 0, 1)
    noise = rng.normal(0, 0.12, (size, size))
    return np.clip(field + noise, -0.2, 1.2)


# --------------------------------------------------------------------------
# motion patterns
# --------------------------------------------------------------------------
def _family(motion: str) -> str:
    """The motion family of a class: 'translate', 'circle', 'scale' or
    'shake' (which parameters it has and how the object moves)."""
    if motion in _DIRECTIONS:
        return 'translate'
    if motion in ('circle_clockwise', 'circle_anticlockwise'):
        return 'circle'
    if motion in ('expand', 'shrink'):
        return 'scale'
    if motion in ('shake_horizontal', 'shake_vertical'):
        return 'shake'
    raise ValueError(f'unknown motion {motion!r}; '
                     f'choose from {MOTION_CLASSES}')


def _motion_params(motion: str, rng: np.random.Generator,
                   size: int) -> dict:
    """Random per-video parameters of a motion pattern (pixels, frames)."""
    s = size / 64.0
    p: dict = {'motion': motion}
    fam = _family(motion)  # raises for an unknown class
    if fam == 'translate':
        p['radius'] = float(rng.uniform(5.0, 9.0) * s)
        p['angle'] = float(_DIRECTIONS[motion] +
                           rng.uniform(-1, 1) * math.radians(15))
        p['speed'] = float(rng.uniform(1.0, 1.8) * s)
        p['start'] = [float(v) for v in rng.uniform(0, size, 2)]
    elif fam == 'circle':
        p['radius'] = float(rng.uniform(4.5, 7.5) * s)
        p['orbit'] = float(rng.uniform(11.0, 19.0) * s)
        p['centre'] = [float(v) for v in size / 2 + rng.uniform(-4, 4, 2) * s]
        p['omega'] = float(2 * math.pi / rng.uniform(22.0, 36.0))
        p['phase'] = float(rng.uniform(0, 2 * math.pi))
        p['sign'] = 1.0 if motion == 'circle_clockwise' else -1.0
    elif fam == 'scale':
        p['centre'] = [float(v) for v in size / 2 + rng.uniform(-9, 9, 2) * s]
        p['r_min'] = float(rng.uniform(2.0, 4.0) * s)
        p['r_max'] = float(rng.uniform(14.0, 19.0) * s)
        p['period'] = float(rng.uniform(16.0, 26.0))
        p['phase'] = float(rng.uniform(0, 1))
    else:  # shake
        p['radius'] = float(rng.uniform(5.0, 9.0) * s)
        p['centre'] = [
            float(v) for v in size / 2 + rng.uniform(-10, 10, 2) * s
        ]
        p['amplitude'] = float(rng.uniform(5.0, 9.0) * s)
        p['period'] = float(rng.uniform(8.0, 14.0))
        p['phase'] = float(rng.uniform(0, 2 * math.pi))
        p['axis'] = 0 if motion == 'shake_horizontal' else 1
    return p


#: Per-motion parameters that describe the dynamics (kept over a video's
#: shots with ``respawn``); the rest says where the object is and how big.
_DYNAMIC_KEYS = {
    'translate': ('angle', 'speed'),
    'circle': ('omega', 'sign', 'orbit'),
    'scale': ('period', 'r_min', 'r_max'),
    'shake': ('amplitude', 'period', 'axis'),
}


def _respawned(p: dict, rng: np.random.Generator, size: int) -> dict:
    """New placement (position, size, phase) of the object for a new shot,
    same dynamics (direction, speed, period, ...) as ``p``."""
    q = _motion_params(p['motion'], rng, size)
    for k in _DYNAMIC_KEYS[_family(p['motion'])]:
        q[k] = p[k]
    return q


def _object_state(p: dict, t: int, size: int) -> Tuple[float, float, float]:
    """(cx, cy, radius) of the object at frame ``t`` in frame coordinates."""
    m = p['motion']
    fam = _family(m)
    if fam == 'translate':
        r = p['radius']
        x = p['start'][0] + p['speed'] * math.cos(p['angle']) * t
        y = p['start'][1] + p['speed'] * math.sin(p['angle']) * t
        # wrap around a torus slightly larger than the frame so the object
        # leaves completely before it re-enters on the opposite side
        span = size + 2 * r + 2
        x = (x + r + 1) % span - r - 1
        y = (y + r + 1) % span - r - 1
        return x, y, r
    if fam == 'circle':
        phi = p['phase'] + p['sign'] * p['omega'] * t
        return (p['centre'][0] + p['orbit'] * math.cos(phi),
                p['centre'][1] + p['orbit'] * math.sin(phi), p['radius'])
    if fam == 'scale':
        frac = (t / p['period'] + p['phase']) % 1.0
        if m == 'shrink':
            frac = 1.0 - frac
        r = p['r_min'] + (p['r_max'] - p['r_min']) * frac
        return p['centre'][0], p['centre'][1], r
    # shake
    off = p['amplitude'] * math.sin(2 * math.pi * t / p['period'] + p['phase'])
    cx, cy = p['centre']
    if p['axis'] == 0:
        cx = cx + off
    else:
        cy = cy + off
    return cx, cy, p['radius']


# --------------------------------------------------------------------------
# one video
# --------------------------------------------------------------------------
def _appearance(rng: np.random.Generator, size: int, num_frames: int,
                drift: float, clutter: bool = True,
                camera_rng: Optional[np.random.Generator] = None) -> dict:
    """Everything a viewer sees except the motion: background texture and
    colours, distractors, object shape / colour / outline, camera pan and
    jitter, flicker and sensor noise, for a shot of ``num_frames`` frames.
    ``clutter=False``: a plain background (one drifting colour plus sensor
    noise) and no distractors; the same random draws are made, so the
    object, colours and camera equal those of ``clutter=True``.
    ``camera_rng``: draw the camera from this generator instead (a shared
    look filmed by each video's own camera); the scene is unchanged."""
    s = size / 64.0
    T = int(num_frames)
    # drawn from ``rng`` in every case, so that a scene does not depend on
    # whose camera films it
    pan_speed, pan_dir = _pan(rng, s)
    own = camera_rng is not None
    # another camera may pan at any speed: room for the fastest
    margin = int(math.ceil((_MAX_PAN * s if own else pan_speed) * T +
                           _JITTER * s + 2))
    canvas = size + 2 * margin
    field = _background_field(rng, canvas)[..., None]  # (C, C, 1)
    if not clutter:
        field = np.full_like(field, 0.5)

    def lerp(c0, c1):
        return c0 + drift * (c1 - c0)

    # background: two colours (bounded luma contrast) mixed by the texture;
    # both drift toward another such pair over the shot
    bg_start, bg_target = _color_pair(rng), _color_pair(rng)
    bg0 = (bg_start[0], lerp(bg_start[0], bg_target[0]))
    bg1 = (bg_start[1], lerp(bg_start[1], bg_target[1]))
    n_dis = int(rng.integers(2, 6))
    distractors = []
    for _ in range(n_dis):
        c = rng.uniform(0, 255, 3)
        distractors.append(
            dict(shape=str(rng.choice(_SHAPES)),
                 cx=float(rng.uniform(0, canvas)),
                 cy=float(rng.uniform(0, canvas)),
                 r=float(rng.uniform(2.5, 7.0) * s),
                 angle=float(rng.uniform(0, 2 * math.pi)),
                 color=(c, lerp(c, rng.uniform(0, 255, 3))),
                 outline=bool(rng.uniform() < 0.3)))
    if not clutter:
        distractors = []
    obj_shape = str(rng.choice(_SHAPES))
    obj_angle = float(rng.uniform(0, 2 * math.pi))
    # the object's luma is >= 50 away from both background colours, on the
    # same side (brighter or darker) at the start and, where possible, at the
    # end; all colours move linearly, so the object stays visible throughout
    obj_start, side = _contrasting_color(rng, [bg0[0], bg1[0]])
    obj_end = lerp(obj_start, rng.uniform(0, 255, 3))
    if min(side * (_luma(obj_end) - _luma(c)) for c in (bg0[1], bg1[1])) < 50:
        obj_end, _ = _contrasting_color(rng, [bg0[1], bg1[1]], side=side)
    obj_outline = bool(rng.uniform() < 0.3)
    if own:  # each video's camera, any pan speed
        camera = _camera(camera_rng, size, T, *_pan(camera_rng, s))
    else:  # the scene's camera, panning as drawn above
        camera = _camera(rng, size, T, pan_speed, pan_dir)
    return dict(
        margin=margin, field=field, bg0=bg0, bg1=bg1,
        distractors=distractors, obj_shape=obj_shape, obj_angle=obj_angle,
        obj_color=(obj_start, obj_end), obj_outline=obj_outline,
        n_dis=n_dis, **camera)


def _pan(rng: np.random.Generator, s: float) -> Tuple[float, float]:
    """(speed, direction) of a camera's slow pan; ``s`` = size / 64."""
    return rng.uniform(0.0, _MAX_PAN) * s, rng.uniform(0, 2 * math.pi)


def _camera(rng: np.random.Generator, size: int, num_frames: int,
            pan_speed: float, pan_dir: float) -> dict:
    """The camera of a shot: start offset, pan velocity, per-frame jitter,
    brightness flicker and the sensor-noise generator."""
    s = size / 64.0
    jitter = _JITTER * s
    return dict(
        cam0=rng.uniform(-0.5, 0.5, 2) * s,
        cam_v=pan_speed * np.array([math.cos(pan_dir), math.sin(pan_dir)]),
        cam_jit=rng.uniform(-jitter, jitter, (int(num_frames), 2)),
        flicker=1.0 + rng.uniform(-0.03, 0.03, int(num_frames)),
        noise=np.random.default_rng(int(rng.integers(0, 2**31 - 1))),
        pan_speed=float(pan_speed))


def _check_shots(shots: int, looks: int, num_frames: int) -> None:
    if not 1 <= shots <= num_frames:
        raise ValueError(f'shots must be in [1, num_frames], got {shots}')
    if looks < 0:
        raise ValueError(f'looks must be >= 0, got {looks}')


def shot_bounds(num_frames: int, shots: int) -> List[int]:
    """First frame of each shot and ``num_frames``: ``shots + 1`` ints."""
    return [int(round(i * num_frames / shots)) for i in range(shots + 1)]


def render_video(motion: str,
                 rng: np.random.Generator,
                 num_frames: int = 48,
                 size: int = 64,
                 drift: float = 0.5,
                 shots: int = 1,
                 looks: int = 0,
                 look_seed: int = 0,
                 respawn: bool = False,
                 clutter: bool = True,
                 own_look: int = -1,
                 look_bias: float = 0.0) -> Tuple[np.ndarray, dict]:
    """Render one video of a motion class with a random appearance.

    Args:
        motion: one of :data:`MOTION_CLASSES`.
        rng: the video's own random generator (all randomness comes from it).
        num_frames: T.
        size: frame height = width (even).
        drift: in [0, 1]; how far the background / object / distractor
            colours move toward other random colours over a shot.
        shots: the video is cut into this many shots of equal length. Each
            shot draws its own appearance (background, distractors, object
            shape and colour, camera); the motion continues across the cuts
            with the same parameters, as a real action filmed from another
            camera. Two clips from different shots then share only the
            motion, so a model that matches clips of one video must encode
            it.
        looks: 0 = every shot draws a fresh appearance. N > 0 = a shot
            takes the scene (background, distractors, object shape and
            colours) of one of N shared "looks", each seeded by
            ``(look_seed, look)`` and chosen at random per shot; the camera
            (pan, jitter, flicker, noise) stays the video's own. Looks are
            shared by all classes, so they say nothing about the class, and
            videos that share a look differ in camera and motion only.
        respawn: every shot after the first also places the object anew
            (position, size, phase) and keeps only the dynamics (direction,
            speed, period, ...): across a cut nothing static is shared.
        clutter: a textured background and 2-5 static distractor shapes
            (True) or a plain background and no distractors (False).
        own_look: the look of this video's class (with ``looks > 0``).
        look_bias: scene-action correlation: with this probability a shot
            takes ``own_look``, otherwise a look drawn uniformly from the
            pool (so 0 = looks independent of the class). No extra random
            draw is made at 0, so the default videos are unchanged.

    Returns:
        frames: uint8 RGB array (T, size, size, 3).
        info: the motion parameters and appearance summary (JSON-able).
    """
    T = int(num_frames)
    _check_shots(shots, looks, T)
    params = _motion_params(motion, rng, size)
    bounds = shot_bounds(T, shots)
    frames = np.empty((T, size, size, 3), np.uint8)
    shot_looks = []
    look_ids = []
    shot_params = [params]
    for k in range(shots):
        t0, t1 = bounds[k], bounds[k + 1]
        if k > 0:
            shot_params.append(_respawned(params, rng, size) if respawn
                               else params)
        if looks > 0:
            if look_bias > 0 and rng.random() < look_bias:
                look_ids.append(int(own_look))
            else:
                look_ids.append(int(rng.integers(looks)))
            look = _appearance(
                np.random.default_rng([int(look_seed), 0x100C, look_ids[-1]]),
                size, t1 - t0, drift, clutter, camera_rng=rng)
        else:
            look = _appearance(rng, size, t1 - t0, drift, clutter)
        shot_looks.append(look)
        margin = look['margin']
        for t in range(t0, t1):
            u = t - t0
            a = u / max(t1 - t0 - 1, 1)
            bg0, bg1 = look['bg0'], look['bg1']
            c0 = bg0[0] + a * (bg0[1] - bg0[0])
            c1 = bg1[0] + a * (bg1[1] - bg1[0])
            bg = (c0 + (c1 - c0) * look['field']).astype(np.float32)
            for d in look['distractors']:
                col = d['color'][0] + a * (d['color'][1] - d['color'][0])
                _draw_shape(bg, d['shape'], d['cx'], d['cy'], d['r'],
                            d['angle'], col, d['outline'])
            # camera: translate the canvas so the frame origin sits at
            # margin + cam(t); sub-pixel bilinear crop
            off = (look['cam0'] + look['cam_v'] * (u - (t1 - t0) / 2) +
                   look['cam_jit'][u])
            M = np.array([[1, 0, -(margin + off[0])],
                          [0, 1, -(margin + off[1])]], dtype=np.float64)
            frame = cv2.warpAffine(bg, M, (size, size),
                                   flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
            cx, cy, r = _object_state(shot_params[k], t, size)
            oc = look['obj_color']
            col = oc[0] + a * (oc[1] - oc[0])
            _draw_shape(frame, look['obj_shape'], cx, cy, r,
                        look['obj_angle'], col, look['obj_outline'])
            frame = (frame * look['flicker'][u] +
                     look['noise'].normal(0, 2.0, frame.shape))
            frames[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    info = dict(params, shape=[lk['obj_shape'] for lk in shot_looks],
                distractors=[lk['n_dis'] for lk in shot_looks],
                pan_speed=[lk['pan_speed'] for lk in shot_looks],
                shots=bounds[:-1], looks=look_ids)
    return frames, info


def write_video(path: str, frames: np.ndarray, fps: float = 12.0,
                fourcc: str = 'mp4v') -> None:
    """Write RGB uint8 frames (T, H, W, 3) with OpenCV; verify the count."""
    T, H, W, _ = frames.shape
    tmp = path + '.part.mp4'
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*fourcc), float(fps),
                             (W, H))
    if not writer.isOpened():
        raise RuntimeError(f'cv2.VideoWriter cannot open {tmp!r} with fourcc '
                           f'{fourcc!r}')
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    cap = cv2.VideoCapture(tmp)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    if count != T:
        raise RuntimeError(f'{path}: wrote {T} frames, container says {count}')
    os.replace(tmp, path)


def _video_seed(seed: int, motion: str, index: int) -> List[int]:
    """Seed words of one video: independent of the other classes chosen and
    of the worker that renders it."""
    return [int(seed), 0x5EED, MOTION_CLASSES.index(motion), int(index)]


def _render_and_write(job: tuple) -> dict:
    (path, motion, label, index, seed, num_frames, size, fps, drift,
     shots, looks, respawn, clutter, fourcc, look_bias) = job
    rng = np.random.default_rng(_video_seed(seed, motion, index))
    frames, info = render_video(motion, rng, num_frames, size, drift, shots,
                                looks, look_seed=seed, respawn=respawn,
                                clutter=clutter,
                                own_look=label % looks if looks else -1,
                                look_bias=look_bias)
    write_video(path, frames, fps, fourcc)
    return info


def _worker_init() -> None:
    cv2.setNumThreads(1)


# --------------------------------------------------------------------------
# the data set
# --------------------------------------------------------------------------
def stratified_query_split(labels: Sequence[int], ratio: float,
                           seed: int) -> np.ndarray:
    """Boolean mask of query items: per class ``round(ratio * n_c)`` items
    (at least 1 and at most ``n_c - 1`` when ``0 < ratio < 1``)."""
    labels = np.asarray(labels)
    mask = np.zeros(len(labels), bool)
    if ratio <= 0:
        return mask
    rng = np.random.default_rng([int(seed), 0x51D])
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_q = int(round(ratio * len(idx)))
        n_q = min(max(n_q, 1), max(len(idx) - 1, 0)) if ratio < 1 else len(idx)
        mask[rng.choice(idx, n_q, replace=False)] = True
    return mask


def _params_hash(params: dict) -> str:
    blob = json.dumps(params, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def is_generated(out_dir: str, params: Optional[dict] = None) -> bool:
    """Whether ``out_dir`` holds a complete set (with ``params`` if given)."""
    done = osp.join(out_dir, 'DONE')
    if not osp.isfile(done):
        return False
    if params is None:
        return True
    with open(done) as f:
        return f.read().strip() == _params_hash(params)


def generate_demo_dataset(out_dir: str,
                          num_per_class: int = 32,
                          classes: Optional[Sequence[str]] = None,
                          num_frames: int = 96,
                          size: int = 40,
                          fps: float = 12.0,
                          query_ratio: float = 0.25,
                          seed: int = 0,
                          drift: float = 0.5,
                          shots: int = 1,
                          looks: int = 8,
                          respawn: bool = False,
                          clutter: bool = True,
                          look_bias: float = 0.0,
                          fourcc: str = 'mp4v',
                          workers: Optional[int] = None,
                          force: bool = False,
                          verbose: bool = True) -> dict:
    """Generate (once) the synthetic motion data set under ``out_dir``.

    Args:
        out_dir: output folder (created).
        num_per_class: videos per class.
        classes: motion class names (default: all of :data:`MOTION_CLASSES`);
            label i = position in this list.
        num_frames: frames per video (exact; decord reports this count).
        size: frame height = width in pixels (even).
        fps: frame rate stored in the container (the content is frame-based).
        query_ratio: fraction of each class held out in ``query_list.txt``.
        seed: master seed; same seed and parameters give identical files.
        drift: within-shot colour drift strength in [0, 1].
        shots: shots per video, each with its own appearance and the same
            continuing motion (see :func:`render_video`).
        looks: size of the shared pool of scenes (0: every shot its own;
            see the module docstring for why the demo uses 8).
        respawn: re-place the object at every cut (see :func:`render_video`).
        clutter: textured backgrounds and distractors (see
            :func:`render_video`).
        look_bias: scene-action correlation in [0, 1]: the probability that
            a shot's look is its class's own (class c owns look
            ``c % looks``; otherwise the look is drawn uniformly from the
            pool, which may also hit the own look). 0 (default) = today's
            scenes, independent of the class. Real data sets have this
            correlation (ski slopes come with skiing); see
            docs/reproduction.md.
        fourcc: OpenCV codec tag (``mp4v`` = MPEG-4 part 2, decodable by
            decord/ffmpeg everywhere; pip OpenCV wheels lack an H.264 encoder).
        workers: processes (default ``min(2, cpu_count)``).
        force: regenerate even when a complete set with the same parameters
            exists, and overwrite a folder that this generator did not write.
        verbose: print progress and timing.

    Returns:
        The manifest dict (also in ``out_dir/manifest.json``) plus the key
        ``'skipped'`` (True when nothing had to be generated).
    """
    classes = list(MOTION_CLASSES if classes is None else classes)
    for c in classes:
        if c not in MOTION_CLASSES:
            raise ValueError(f'unknown class {c!r}; choose from '
                             f'{MOTION_CLASSES}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'duplicate classes in {classes}')
    if size % 2 or size < 16:
        raise ValueError(f'size must be even and >= 16, got {size}')
    _check_shots(shots, looks, num_frames)
    if num_per_class < 1 or num_frames < 2:
        raise ValueError('num_per_class >= 1 and num_frames >= 2 required')
    if not 0 <= query_ratio < 1:
        raise ValueError(f'query_ratio must be in [0, 1), got {query_ratio}')
    if not 0 <= look_bias <= 1 or (look_bias > 0 and looks < 1):
        raise ValueError(f'look_bias={look_bias}: must be in [0, 1] and needs '
                         'a pool of looks (looks >= 1)')
    params = dict(version=GENERATOR_VERSION, classes=classes,
                  num_per_class=int(num_per_class), num_frames=int(num_frames),
                  size=int(size), fps=float(fps),
                  query_ratio=float(query_ratio), seed=int(seed),
                  drift=float(drift), shots=int(shots), looks=int(looks),
                  respawn=bool(respawn), clutter=bool(clutter),
                  fourcc=fourcc)
    if look_bias > 0:  # absent at 0: the default set keeps its hash
        params['look_bias'] = float(look_bias)
    os.makedirs(out_dir, exist_ok=True)
    manifest_path = osp.join(out_dir, 'manifest.json')
    lock_path = osp.join(out_dir, '.generate.lock')
    with open(lock_path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent callers wait
        if not force and is_generated(out_dir, params):
            with open(manifest_path) as f:
                manifest = json.load(f)
            if verbose:
                print(f'[generate_demo_data] {out_dir}: up to date '
                      f'({len(manifest["videos"])} videos), skipping')
            manifest['skipped'] = True
            return manifest
        video_root = osp.join(out_dir, 'videos')
        if osp.exists(video_root):
            if not osp.isfile(manifest_path) and not force:
                raise FileExistsError(
                    f'{video_root} exists but was not written by this '
                    'generator (no manifest.json); pass force=True')
            shutil.rmtree(video_root)
        for name in ('DONE', 'manifest.json', 'train_list.txt',
                     'query_list.txt', 'all_list.txt', 'classes.txt'):
            if osp.exists(osp.join(out_dir, name)):
                os.remove(osp.join(out_dir, name))

        jobs, rel_paths, labels = [], [], []
        for label, cls in enumerate(classes):
            os.makedirs(osp.join(video_root, cls), exist_ok=True)
            for k in range(num_per_class):
                rel = f'{cls}/{cls}_{k:04d}.mp4'
                rel_paths.append(rel)
                labels.append(label)
                jobs.append((osp.join(video_root, rel), cls, label, k,
                             int(seed), int(num_frames), int(size),
                             float(fps), float(drift), int(shots), int(looks),
                             bool(respawn), bool(clutter), fourcc,
                             float(look_bias)))
        if workers is None:
            workers = min(2, os.cpu_count() or 1)
        t0 = time.time()
        if workers > 1:
            import multiprocessing as mp
            ctx = mp.get_context('fork')
            with ctx.Pool(workers, initializer=_worker_init) as pool:
                infos = pool.map(_render_and_write, jobs, chunksize=4)
        else:
            infos = [_render_and_write(j) for j in jobs]
        elapsed = time.time() - t0

        is_query = stratified_query_split(labels, query_ratio, seed)
        lines = [f'{p} {lab}\n' for p, lab in zip(rel_paths, labels)]

        def write(name, content):
            with open(osp.join(out_dir, name), 'w') as f:
                f.writelines(content)

        write('classes.txt', [c + '\n' for c in classes])
        write('all_list.txt', lines)
        write('train_list.txt',
              [ln for ln, q in zip(lines, is_query) if not q])
        write('query_list.txt', [ln for ln, q in zip(lines, is_query) if q])
        videos = [
            dict(path=p, label=int(lab),
                 split='query' if q else 'train', **info)
            for p, lab, q, info in zip(rel_paths, labels, is_query, infos)
        ]
        manifest = dict(params=params, hash=_params_hash(params),
                        num_train=int((~is_query).sum()),
                        num_query=int(is_query.sum()), videos=videos)
        with open(manifest_path, 'w') as f:
            json.dump(manifest, f, indent=1)
        with open(osp.join(out_dir, 'DONE'), 'w') as f:
            f.write(_params_hash(params) + '\n')
    if verbose:
        print(f'[generate_demo_data] wrote {len(jobs)} videos '
              f'({len(classes)} classes x {num_per_class}, {num_frames} '
              f'frames of {size}x{size}) to {out_dir} in {elapsed:.1f} s '
              f'with {workers} worker(s); train {manifest["num_train"]}, '
              f'query {manifest["num_query"]}')
    manifest['skipped'] = False
    return manifest
