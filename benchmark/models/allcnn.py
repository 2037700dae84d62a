"""All-CNN-C (Springenberg et al., "Striving for Simplicity: The All Convolutional Net",
ICLR 2015 workshop), with BatchNorm, as used in unlearning papers (Golatkar et al.,
"Eternal Sunshine of the Spotless Net", CVPR 2020; Tarun et al., UNSIR, TNNLS 2023).

Layers: 3x3 convs 96, 96, 96 (stride 2), 192, 192, 192 (stride 2), 192 (3x3), 192 (1x1),
each Conv-BN-ReLU, then a 1x1 conv to ``num_classes`` and global average pooling.
``filters_percentage`` scales the widths as in Golatkar's code (``int(96 * p)``).

Deliberate deviations:
* From the paper: BatchNorm after every conv (as in Golatkar's code), 'same' padding on the
  seventh conv (the paper used 'valid', 6x6 maps), and no ReLU on the class-score conv so
  logits can be negative.
* From Golatkar's code (github.com/AdityaGolatkar/SelectiveForgetting, ``models.py``): that
  code widens the third conv to 192 and ends in AvgPool + ``nn.Linear``; we keep the paper's
  widths and its 1x1-conv head, so the head weight is ``(num_classes, 192, 1, 1)``.
"""

from __future__ import annotations

import torch
from torch import nn

from benchmark.core.errors import UserError


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class AllCNN(nn.Module):
    """All-CNN-C: ``features`` (Conv-BN-ReLU blocks), ``classifier`` (1x1 conv), mean pool."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        filters_percentage: float = 1.0,
        dropout: bool = False,
    ) -> None:
        super().__init__()
        n1, n2 = int(96 * filters_percentage), int(192 * filters_percentage)
        if n1 < 1:
            raise UserError(f"allcnn: filters_percentage={filters_percentage} leaves no filters")

        def drop() -> nn.Module:
            # p=0.5 after each stride-2 stage, as in the paper and in Golatkar's code.
            return nn.Dropout(0.5) if dropout else nn.Identity()

        self.features = nn.Sequential(
            _conv_bn_relu(in_channels, n1, 3),
            _conv_bn_relu(n1, n1, 3),
            _conv_bn_relu(n1, n1, 3, stride=2),
            drop(),
            _conv_bn_relu(n1, n2, 3),
            _conv_bn_relu(n2, n2, 3),
            _conv_bn_relu(n2, n2, 3, stride=2),
            drop(),
            _conv_bn_relu(n2, n2, 3),
            _conv_bn_relu(n2, n2, 1),
        )
        # The logits come from this conv: its weight rows are the per-class filters.
        self.classifier = nn.Conv2d(n2, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).mean(dim=(2, 3))


def allcnn(
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    filters_percentage: float = 1.0,
    dropout: bool = False,
) -> nn.Module:
    """All-CNN-C; ``image_size`` is unused (global average pooling makes it size-agnostic)."""
    return AllCNN(num_classes, in_channels, filters_percentage=filters_percentage, dropout=dropout)
