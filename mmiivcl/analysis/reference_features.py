"""Reference features without a network: what scene alone and motion alone
say about a video's class.

They bound a learned embedding from both sides on data whose class is a
motion pattern: a feature that sees only the *scene* (colours, the generator's
look) shows how far retrieval or a probe can get without encoding motion; a
hand-made *motion* descriptor (optical flow) shows how much the motion itself
separates the classes. Every feature is computed from the decoded frames of
the whole video, once per video (:func:`reference_features`).

- ``colour_layout``: the mean colour of each cell of a ``grid`` x ``grid``
  layout, averaged over the frames, (3 * grid^2)-d. Mostly the scene, but not
  only: the moving object's average position and size leave a trace in it.
- ``mean_colour``: the mean and std of each RGB channel over all pixels and
  frames, 6-d; the scene's palette, nearly blind to where the object is.
- ``motion``: dense optical flow (Farneback) between consecutive frames, the
  camera's motion (the median flow) removed; from the fastest tenth of the
  pixels (the object) per frame pair the mean velocity, then per video the
  mean velocity, mean absolute x / y speed, magnitude-weighted divergence and
  curl, and how the velocity direction turns over 2, 4 and 6 frames (mean
  cross and dot product of unit velocities), 12-d. No colour, no position.
"""
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np

#: the reference features :func:`reference_features` computes, in order
KINDS: Tuple[str, ...] = ('colour_layout', 'mean_colour', 'motion')
#: lags (frames) of the velocity-turn statistics of :func:`motion_descriptor`
TURN_LAGS: Tuple[int, ...] = (2, 4, 6)


def colour_layout(frames: np.ndarray, grid: int = 4) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3 * grid^2,) mean colour per layout cell."""
    import cv2
    small = [cv2.resize(f, (grid, grid), interpolation=cv2.INTER_AREA)
             for f in frames.astype(np.float32)]
    return np.mean(small, axis=0).reshape(-1)


def mean_colour(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (6,): per-channel mean and std."""
    px = frames.reshape(-1, 3).astype(np.float32)
    return np.concatenate([px.mean(0), px.std(0)])


def motion_descriptor(frames: np.ndarray,
                      object_quantile: float = 0.9) -> np.ndarray:
    """(T, H, W, 3) uint8, T >= 8 -> (6 + 2 * len(TURN_LAGS),) flow
    statistics (see the module docstring)."""
    import cv2
    if len(frames) < max(TURN_LAGS) + 2:
        raise ValueError(f'motion_descriptor needs at least '
                         f'{max(TURN_LAGS) + 2} frames, got {len(frames)}')
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    vel, div, curl, speed = [], [], [], []
    for a, b in zip(grey[:-1], grey[1:]):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 7, 3, 5,
                                            1.1, 0)  # (H, W, 2): u, v
        res = flow - np.median(flow.reshape(-1, 2), axis=0)  # minus camera
        mag = np.linalg.norm(res, axis=2)
        obj = mag >= np.quantile(mag, object_quantile)
        vel.append(res[obj].mean(0))
        speed.append(np.abs(res[obj]).mean(0))
        du_dy, du_dx = np.gradient(res[..., 0])
        dv_dy, dv_dx = np.gradient(res[..., 1])
        w = mag / (mag.sum() + 1e-6)
        div.append(float(((du_dx + dv_dy) * w).sum()))
        curl.append(float(((dv_dx - du_dy) * w).sum()))
    vel = np.asarray(vel)
    unit = vel / (np.linalg.norm(vel, axis=1, keepdims=True) + 1e-6)
    turns = []
    for lag in TURN_LAGS:
        a, b = unit[:-lag], unit[lag:]
        turns += [float(np.mean(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])),
                  float(np.mean((a * b).sum(1)))]
    return np.concatenate([vel.mean(0), np.mean(speed, axis=0),
                           [np.mean(div), np.mean(curl)], turns]
                          ).astype(np.float32)


def reference_features(paths: Sequence[str], video_root: str,
                       kinds: Sequence[str] = KINDS,
                       progress: bool = True) -> Dict[str, np.ndarray]:
    """Decode every video once (decord) and compute each of ``kinds``.

    Returns:
        kind -> (N, D) float32, rows in the order of ``paths``.
    """
    import decord
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f'unknown reference features {bad}; choose from '
                         f'{KINDS}')
    fns = dict(colour_layout=colour_layout, mean_colour=mean_colour,
               motion=motion_descriptor)
    out: Dict[str, list] = {k: [] for k in kinds}
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(paths))
    for path in paths:
        vr = decord.VideoReader(osp.join(video_root, path))
        frames = vr.get_batch(list(range(len(vr)))).asnumpy()
        for k in kinds:
            out[k].append(fns[k](frames))
        if bar is not None:
            bar.update()
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def oracle_by_field(train_labels: np.ndarray, train_field: np.ndarray,
                    query_labels: np.ndarray, query_field: np.ndarray
                    ) -> Dict[str, float]:
    """The best a classifier that sees only one per-video field (e.g. the
    generator's look) can do, measured on the queries (percent):

    - ``linear``: top-1 of predicting, for a query, the most frequent
      training class among the training videos with its field value (the
      Bayes rule under the training frequencies; ties: the lowest label);
    - ``R@1``: the expected R@1 of retrieving a random training video with
      the query's field value: n(field, class) / n(field), averaged.

    A query whose value no training video has counts as a miss."""
    tl, tf = np.asarray(train_labels), np.asarray(train_field)
    ql, qf = np.asarray(query_labels), np.asarray(query_field)
    n_cls = int(max(tl.max(), ql.max())) + 1
    hit, r1 = [], []
    for lab, f in zip(ql, qf):
        counts = np.bincount(tl[tf == f], minlength=n_cls)
        total = counts.sum()
        hit.append(total > 0 and counts.argmax() == lab)
        r1.append(counts[lab] / total if total else 0.0)
    return {'linear': 100.0 * float(np.mean(hit)),
            'R@1': 100.0 * float(np.mean(r1))}
