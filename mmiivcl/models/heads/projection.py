"""Projection MLP g(.) of IIVCL (g^Intra, g^NN) and VCLR's heads."""
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class ProjectionMLP(BaseModule):
    """Linear-ReLU-...-Linear projection, no BN, output L2-normalised.

    Args:
        in_channels (int): C, the backbone width (2048 for R3D-50/R2D-50,
            512 for R3D-18).
        hid_channels (int | Sequence[int]): hidden width(s); an int repeats
            ``num_layers - 1`` times. IIVCL: 2048, 3 layers; VCLR: 2048, 2.
        out_channels (int): embedding width D (128).
        num_layers (int): number of Linear layers.
        normalize (bool): L2-normalise the output.
        norm_cfg (dict, optional): a norm layer after each hidden Linear,
            e.g. ``dict(type='BN1d')``. The papers use none (default); BN
            in the hidden layers stabilises tiny-batch, short CPU runs.

    Shapes: (N, C) -> (N, D).
    """

    def __init__(self, in_channels: int, hid_channels=2048,
                 out_channels: int = 128, num_layers: int = 3,
                 normalize: bool = True, norm_cfg: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        if isinstance(hid_channels, int):
            hid_channels = [hid_channels] * (num_layers - 1)
        if len(hid_channels) != num_layers - 1:
            raise ValueError('hid_channels needs num_layers - 1 entries')
        widths = [in_channels, *hid_channels, out_channels]
        layers = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            hidden = i < num_layers - 1
            layers.append(nn.Linear(a, b, bias=not (hidden and norm_cfg)))
            if hidden:
                if norm_cfg is not None:
                    layers.append(build_norm_layer(norm_cfg, b)[1])
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.normalize = normalize

    def forward(self, x: Tensor) -> Tensor:
        x = self.mlp(x)
        return F.normalize(x, dim=1) if self.normalize else x
