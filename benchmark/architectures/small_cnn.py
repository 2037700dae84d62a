"""A small CNN for the default CPU preset (8x8 digits), also usable at 3x32x32.

Not from a paper: three Conv-BN-ReLU blocks (32, 64 -> max-pool -> 128), global average
pooling and a linear head (94k parameters at 10 classes). A full-batch forward+backward over
1,400 1x8x8 digit images takes 0.16-0.17 s on 2 CPU threads, 0.29-0.30 s on 1 (best-median
of 7 runs, torch 2.14, shared cloud VM); ``widths=(16, 32, 64)`` is about 2.7x faster.
Cost grows with the square of the width, so widen only when a preset can afford it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from benchmark.errors import UserError


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """conv(w0)-conv(w1)-maxpool-conv(w2), global average pool, linear ``classifier``."""

    def __init__(
        self, num_classes: int, in_channels: int = 3, widths: Sequence[int] = (32, 64, 128)
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
    widths: Sequence[int] = (32, 64, 128),
) -> nn.Module:
    """The small CNN; ``image_size`` is unused (any size >= 2 works)."""
    return SmallCNN(num_classes, in_channels, widths=tuple(widths))
