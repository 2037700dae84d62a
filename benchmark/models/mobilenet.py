"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018), from torchvision's ``mobilenet_v2(weights=None)``, adapted to 32x32 CIFAR.

The ImageNet network downsamples 32x: a 32x32 image would be 1x1 after the fourth stage
and the last three stages would see a single pixel. Two strides change, as in the common
CIFAR adaptation (kuangliu/pytorch-cifar ``mobilenetv2.py``):
* the first conv has stride 1 instead of 2;
* the second inverted-residual stage (24 channels) has stride 1 instead of 2.
The total downsampling is then 8x, so 32x32 ends at 4x4 before the global pool.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torchvision.models import mobilenet_v2

# torchvision's default setting (t: expansion, c: channels, n: blocks, s: first stride) with
# the 24-channel stage's stride set to 1 (second row) for 32x32 inputs.
CIFAR_INVERTED_RESIDUAL_SETTING = [
    [1, 16, 1, 1],
    [6, 24, 2, 1],  # ImageNet: stride 2
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


def mobilenetv2(
    *, num_classes: int, in_channels: int = 3, image_size: int = 32, **torchvision_kwargs: Any
) -> nn.Module:
    """torchvision MobileNetV2 with stride 1 in the stem and the second stage.

    Extra keyword arguments (``width_mult``, ``dropout``, ...) go to torchvision's
    ``MobileNetV2``. ``image_size`` is unused (the network is size-agnostic).
    """
    torchvision_kwargs.setdefault("inverted_residual_setting", CIFAR_INVERTED_RESIDUAL_SETTING)
    model = mobilenet_v2(weights=None, num_classes=num_classes, **torchvision_kwargs)
    old = model.features[0][0]
    stem = nn.Conv2d(in_channels, old.out_channels, 3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(stem.weight, mode="fan_out")  # torchvision's init for convs
    model.features[0][0] = stem
    return model
