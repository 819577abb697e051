"""Mean ± std over seeds and paired comparisons of two settings."""
import math
from typing import Any, Dict, Sequence, Tuple

import numpy as np


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of ``values``, ``None``
    entries ignored. The std is NaN for fewer than 2 values (a single seed has
    no spread) and the mean NaN for none. Every table of the tools uses this
    one definition."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if not len(v):
        return float('nan'), float('nan')
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float(
        'nan')


def fmt_mean_std(m: float, s: float, digits: int = 1) -> str:
    """``m ± s``; ``m`` alone when ``s`` is not finite; ``n/a`` for no
    mean."""
    if m is None or not np.isfinite(m):
        return 'n/a'
    if s is None or not np.isfinite(s):
        return f'{m:.{digits}f}'
    return f'{m:.{digits}f} ± {s:.{digits}f}'


def average_ranks(means: Dict[str, Dict[str, float]],
                  measures: Sequence[str]) -> Dict[str, float]:
    """Table 6's "Avg. Rank": rank the settings per measure (1 = best,
    ties share the mean rank), then average over the measures."""
    keys = list(means)
    ranks = {k: [] for k in keys}
    for m in measures:
        vals = np.array([means[k][m] for k in keys])
        for i, k in enumerate(keys):
            better = np.sum(vals > vals[i])
            equal = np.sum(vals == vals[i])
            ranks[k].append(better + (equal + 1) / 2.0)
    return {k: float(np.mean(v)) for k, v in ranks.items()}


def compare(a: Sequence[float], b: Sequence[float]) -> Dict[str, Any]:
    """Paired comparison of two settings over the same seeds (a - b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    d = float(a.mean() - b.mean())
    spread = max(mean_std(a)[1], mean_std(b)[1]) if n > 1 else float('nan')
    diffs = a - b
    out = dict(n=n, delta=d, spread=spread, wins=int(np.sum(diffs > 0)),
               losses=int(np.sum(diffs < 0)),
               paired=mean_std(diffs))
    if n < 2 or not np.isfinite(spread):
        out['ratio'], out['verdict'] = float('nan'), 'single'
        return out
    ratio = d / spread if spread > 0 else (0.0 if d == 0 else math.copysign(
        float('inf'), d))
    out['ratio'] = ratio
    if ratio >= 2 and out['wins'] == n:
        out['verdict'] = 'clear_win'
    elif ratio >= 1:
        out['verdict'] = 'lead'
    elif ratio <= -2 and out['losses'] == n:
        out['verdict'] = 'clear_loss'
    elif ratio <= -1:
        out['verdict'] = 'behind'
    else:
        out['verdict'] = 'noise'
    return out


#: short names used by the Table 6 report
mean_sd = mean_std
fmt_ms = fmt_mean_std
