"""Feature-cache linear probe: a linear classifier on frozen backbone features.

The fast small-scale stand-in for the linear evaluation protocol (IIVCL paper,
Table 6 "K400 Linear"): the frozen backbone's video features (clip-averaged,
:func:`~mmiivcl.analysis.features.extract_features`) are extracted *once*;
a multinomial logistic regression (scikit-learn, L-BFGS, L2 penalty) is
trained on the training videos' features and evaluated top-1 on held-out
videos. The features are standardised with the training set's mean and std
(no L2 normalisation, as in the paper's K400 linear protocol). Unlike
mmaction2's linear recipe (``configs/downstream/iivcl/*_linear.py``) there is
no augmentation and no multi-view testing: every video is one fixed feature
vector, so the probe takes seconds instead of an SGD run.
"""
import warnings
from typing import Dict, Optional, Union

import numpy as np

ArrayLike = Union[np.ndarray, list]


def linear_probe(train_feats: ArrayLike,
                 train_labels: ArrayLike,
                 test_feats: ArrayLike,
                 test_labels: ArrayLike,
                 C: float = 1.0,
                 max_iter: int = 5000,
                 standardize: bool = True) -> Dict[str, float]:
    """Train a logistic-regression probe and report held-out top-1.

    Args:
        train_feats: (N, C) training features.
        train_labels: (N,) int labels; rows with a label < 0 are ignored.
        test_feats: (M, C) held-out features.
        test_labels: (M,) int labels; rows with a label < 0 are ignored.
        C: inverse L2 regularisation strength (scikit-learn convention);
            fixed, never tuned on the held-out set.
        max_iter: L-BFGS iterations.
        standardize: z-score every feature dimension with the training
            mean and std.

    Returns:
        dict: ``top1`` (percent), ``train_top1`` (percent, fit quality),
        ``chance`` (percent: expected top-1 of guessing with the training
        class frequencies), ``num_train``, ``num_test``, ``num_classes``,
        ``converged`` (1.0 / 0.0).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    xtr = np.asarray(train_feats, dtype=np.float64)
    xte = np.asarray(test_feats, dtype=np.float64)
    ytr = np.asarray(train_labels, dtype=np.int64).reshape(-1)
    yte = np.asarray(test_labels, dtype=np.int64).reshape(-1)
    if xtr.ndim != 2 or xte.ndim != 2 or xtr.shape[1] != xte.shape[1]:
        raise ValueError(f'features must be (N, C) and (M, C), got '
                         f'{xtr.shape} and {xte.shape}')
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError('features and labels differ in length')
    keep_tr, keep_te = ytr >= 0, yte >= 0
    xtr, ytr, xte, yte = xtr[keep_tr], ytr[keep_tr], xte[keep_te], yte[
        keep_te]
    classes = np.unique(ytr)
    if len(classes) < 2:
        raise ValueError(f'the linear probe needs >= 2 labelled classes in '
                         f'the training features, got {classes.tolist()}')
    if not len(yte):
        raise ValueError('no labelled held-out features')
    if not (np.all(np.isfinite(xtr)) and np.all(np.isfinite(xte))):
        raise ValueError('features contain NaN or inf')
    if standardize:
        mean = xtr.mean(axis=0)
        std = xtr.std(axis=0)
        std[std < 1e-12] = 1.0
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    clf = LogisticRegression(C=C, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        clf.fit(xtr, ytr)
    converged = not any(issubclass(w.category, ConvergenceWarning)
                        for w in caught)
    top1 = float(100.0 * np.mean(clf.predict(xte) == yte))
    train_top1 = float(100.0 * np.mean(clf.predict(xtr) == ytr))
    return dict(top1=top1, train_top1=train_top1,
                chance=probe_chance(ytr, yte), num_train=int(len(ytr)),
                num_test=int(len(yte)), num_classes=int(len(classes)),
                converged=float(converged))


def probe_chance(train_labels: ArrayLike,
                 test_labels: Optional[ArrayLike] = None) -> float:
    """Expected top-1 (percent) of guessing at random with the training
    class frequencies: ``sum_c p_train(c) * p_test(c)`` (``1/K`` for
    balanced classes)."""
    ytr = np.asarray(train_labels, dtype=np.int64).reshape(-1)
    ytr = ytr[ytr >= 0]
    yte = ytr if test_labels is None else np.asarray(
        test_labels, dtype=np.int64).reshape(-1)
    yte = yte[yte >= 0]
    if not len(ytr) or not len(yte):
        return float('nan')
    n = int(max(ytr.max(), yte.max())) + 1
    ptr = np.bincount(ytr, minlength=n) / len(ytr)
    pte = np.bincount(yte, minlength=n) / len(yte)
    return float(100.0 * (ptr * pte).sum())
