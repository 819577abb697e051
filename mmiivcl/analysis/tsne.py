"""t-SNE picture of video features coloured by class (the IIVCL paper's t-SNE
figure). scikit-learn's :class:`~sklearn.manifold.TSNE` on L2-normalised
features; matplotlib (Agg) draws one colour per class with a legend."""
from typing import Optional, Sequence

import numpy as np


def tsne_embedding(feats: np.ndarray, perplexity: float = 30.0,
                   seed: int = 0) -> np.ndarray:
    """2-D t-SNE of L2-normalised ``feats`` (N, C) -> (N, 2).

    The perplexity is capped at (N - 1) / 3 so that tiny sets work.
    """
    from sklearn.manifold import TSNE
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f't-SNE needs (N >= 3, C) features, got {x.shape}')
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    perp = float(min(perplexity, max((len(x) - 1) / 3.0, 1.0)))
    tsne = TSNE(n_components=2, perplexity=perp, init='pca',
                random_state=seed, metric='euclidean')
    return tsne.fit_transform(x)


def plot_embedding(points: np.ndarray, labels: Sequence[int], out_file: str,
                   class_names: Optional[Sequence[str]] = None,
                   title: str = '', dpi: int = 120) -> str:
    """Scatter ``points`` (N, 2), one colour per label, legend of class
    names (label -1: 'unlabelled', grey); saved as PNG to ``out_file``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = np.asarray(labels, dtype=np.int64)
    classes = sorted(set(labels.tolist()))
    cmap = plt.get_cmap('tab10' if len(classes) <= 10 else 'tab20')
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    for i, c in enumerate(classes):
        m = labels == c
        if c < 0:
            name, color = 'unlabelled', (0.6, 0.6, 0.6)
        else:
            name = (class_names[c] if class_names is not None
                    and c < len(class_names) else str(c))
            color = cmap(i % cmap.N)
        ax.scatter(points[m, 0], points[m, 1], s=14, color=color, label=name,
                   alpha=0.85, edgecolors='none')
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc='center left', bbox_to_anchor=(1.0, 0.5), fontsize=8,
              frameon=False, markerscale=1.5)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file
