"""Temporal-order classifier of VCLR (VCLR paper, Sec. 3)."""
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class OrderClassifier(BaseModule):
    """Linear classifier on concatenated per-position order embeddings.

    VCLR concatenates the order embeddings of the anchor tuple's K frames
    and of the positive tuple's K frames (anchor first, in the order the
    frames were given, i.e. after shuffling) and predicts which tuples were
    shuffled (4 classes, see :class:`~mmiivcl.datasets.TemporalOrderShuffle`).

    Args:
        embed_dim (int): D, the width of one order embedding (128).
        num_positions (int): P, embeddings concatenated per sample
            (2 K = 6 for two tuples of K = 3 segments).
        num_classes (int): 4 (ordered/shuffled for each of the two tuples).

    Shapes: (N, P, D) -> (N, num_classes) logits.
    """

    def __init__(self, embed_dim: int = 128, num_positions: int = 6,
                 num_classes: int = 4, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, v in (('embed_dim', embed_dim),
                        ('num_positions', num_positions),
                        ('num_classes', num_classes)):
            if int(v) != v or v < 1:
                raise ValueError(f'OrderClassifier.{name} must be a positive '
                                 f'int, got {v!r}')
        self.embed_dim = int(embed_dim)
        self.num_positions = int(num_positions)
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(self.num_positions * self.embed_dim,
                            self.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1:] != (self.num_positions,
                                           self.embed_dim):
            raise ValueError(
                f'OrderClassifier expects (N, {self.num_positions}, '
                f'{self.embed_dim}) embeddings, got {tuple(x.shape)}')
        return self.fc(x.flatten(1))
