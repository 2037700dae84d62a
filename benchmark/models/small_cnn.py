"""A small CNN for the default CPU preset (8x8 digits), also usable at 3x32x32.

Not from a paper: three Conv-BN-ReLU blocks (16, 32 -> max-pool -> 64), global average
pooling and a linear head (24k parameters at 10 classes). Widths (16, 32, 64) are the
default because the default preset must finish within a minute on 2 CPU cores: on digits,
20 training epochs took 2.6 s and exact Fisher forgetting 2.0 s with them, against 8.4 s and
12.9 s with (32, 64, 128) (one run each, 1 CPU thread, torch 2.14.1, shared 2-core VM).
Cost grows with the square of the width; pass ``widths=(32, 64, 128)`` for a wider model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from benchmark.core.errors import UserError


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """conv(w0)-conv(w1)-maxpool-conv(w2), global average pool, linear ``classifier``."""

    def __init__(
        self, num_classes: int, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64)
    ) -> None:
        super().__init__()
        if len(widths) != 3 or min(widths) < 1:
            raise UserError(f"smallcnn: widths must be three positive ints, got {tuple(widths)}")
        w0, w1, w2 = widths
        self.features = nn.Sequential(
            _block(in_channels, w0),
            _block(w0, w1),
            nn.MaxPool2d(2),
            _block(w1, w2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(w2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def smallcnn(
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    widths: Sequence[int] = (16, 32, 64),
) -> nn.Module:
    """The small CNN; ``image_size`` is unused (any size >= 2 works)."""
    return SmallCNN(num_classes, in_channels, widths=tuple(widths))
