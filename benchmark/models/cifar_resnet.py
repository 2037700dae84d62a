"""Compact CIFAR networks for CPU budgets: He et al.'s CIFAR ResNets and a narrow ResNet-9.

``resnet8`` / ``resnet20``: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, Sec. 4.2: a 3x3 stem of 16 channels, three stages of n basic
blocks at 16, 32 and 64 channels (stride 2 between stages), global average pooling and a
linear head: 6n+2 layers (n=1: ResNet-8, n=3: ResNet-20). Shortcuts that change shape use
a 1x1 convolution with BatchNorm (the paper's option B) rather than zero padding (option A):
one code path for every width.

``resnet9``: the network of D. Page's "How to train your ResNet" (Myrtle.ai, 2018; the
DAWNBench CIFAR-10 entry that airbench descends from): prep conv, then three stages of
conv + max-pool (the first and last followed by a residual pair of convs), a global max
pool and a linear head. Page scales the logits by 0.125; we do not, because the suite's
contract is that the classifier head's output *is* the logits (Fisher forgetting and SSD
edit the head's rows); the recipe's learning rate does that job. At ``width=64`` it is the original (widths 64,
128, 256, 512); ``width=16`` keeps its shape at 1/16 of the compute. ``stem_stride=2``
downsamples in the first conv (a cheap stem: every later layer works on a quarter of the
pixels).

All take ``widths``/``width`` so a CPU preset can pick its point on the accuracy/cost
frontier (docs/BENCHMARKS.md lists the measured candidates).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from benchmark.core.errors import UserError


def _conv_bn(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c_in, c_out, stride), nn.ReLU(inplace=True),
                                  _conv_bn(c_out, c_out))
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else \
            _conv_bn(c_in, c_out, stride, kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class CifarResNet(nn.Module):
    """He et al.'s 6n+2-layer CIFAR ResNet with a linear ``classifier``."""

    def __init__(self, num_classes: int, in_channels: int, blocks: int,
                 widths: Sequence[int]) -> None:
        super().__init__()
        if len(widths) != 3 or min(widths) < 1 or blocks < 1:
            raise UserError(f"cifar resnet: widths must be three positive ints, got {tuple(widths)}")
        layers: list[nn.Module] = [_conv_bn(in_channels, widths[0]), nn.ReLU(inplace=True)]
        c_in = widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks):
                layers.append(BasicBlock(c_in, width, 2 if stage > 0 and index == 0 else 1))
                c_in = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(channels, channels), nn.ReLU(inplace=True),
                                  _conv_bn(channels, channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet9(nn.Module):
    """Page's ResNet-9 at ``width`` (64 = the original), optional stride-2 stem."""

    def __init__(self, num_classes: int, in_channels: int, width: int, stem_stride: int) -> None:
        super().__init__()
        if width < 1 or stem_stride not in (1, 2):
            raise UserError(f"resnet9: width must be >= 1 and stem_stride 1 or 2, got "
                            f"{width}, {stem_stride}")
        w = width

        def stage(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(_conv_bn(c_in, c_out), nn.ReLU(inplace=True), nn.MaxPool2d(2))

        self.features = nn.Sequential(
            _conv_bn(in_channels, w, stride=stem_stride), nn.ReLU(inplace=True),
            stage(w, 2 * w), _Residual(2 * w),
            stage(2 * w, 4 * w),
            stage(4 * w, 8 * w), _Residual(8 * w),
        )
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.classifier = nn.Linear(8 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def resnet8(*, num_classes: int, in_channels: int = 3, image_size: int = 32,
            widths: Sequence[int] = (16, 32, 64)) -> nn.Module:
    """He et al.'s ResNet-8 (n=1); ``image_size`` unused (any size >= 4 works)."""
    return CifarResNet(num_classes, in_channels, 1, tuple(widths))


def resnet20(*, num_classes: int, in_channels: int = 3, image_size: int = 32,
             widths: Sequence[int] = (16, 32, 64)) -> nn.Module:
    """He et al.'s ResNet-20 (n=3); ``image_size`` unused (any size >= 4 works)."""
    return CifarResNet(num_classes, in_channels, 3, tuple(widths))


def resnet9(*, num_classes: int, in_channels: int = 3, image_size: int = 32, width: int = 16,
            stem_stride: int = 1) -> nn.Module:
    """Page's ResNet-9 at ``width`` (64 = the DAWNBench original); needs image_size >= 8
    (16 with ``stem_stride=2``)."""
    if image_size < 8 * stem_stride:
        raise UserError(f"resnet9 needs images of at least {8 * stem_stride}px, got {image_size}")
    return ResNet9(num_classes, in_channels, width, stem_stride)
