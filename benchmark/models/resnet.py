"""ResNet-18 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Source: torchvision's ``resnet18(weights=None)``. Two stems:

* ``cifar`` (default): the first conv is 3x3 stride 1 padding 1 and the max-pool is
  removed, the usual CIFAR adaptation (e.g. kuangliu/pytorch-cifar), so a 32x32 image
  reaches the last stage at 4x4 instead of 1x1.
* ``imagenet``: torchvision unchanged (7x7 stride-2 conv + 3x3 stride-2 max-pool). This is
  what the official UNSIR notebook (Tarun et al., TNNLS 2023) trains on 32x32 CIFAR, so
  its numbers are reproduced with ``resnet18_imagenet``; 32x32 reaches the last stage at 1x1.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import nn
from torchvision.models import resnet18 as tv_resnet18

from benchmark.core.errors import UserError

Stem = Literal["cifar", "imagenet"]


def _new_conv(
    in_channels: int, out_channels: int, kernel: int, stride: int, padding: int
) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=False)
    # Same init torchvision gives every conv in a ResNet; nn.Conv2d's default differs.
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


def resnet18(
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    stem: Stem = "cifar",
    **torchvision_kwargs: Any,
) -> nn.Module:
    """torchvision ResNet-18 with the CIFAR stem (``stem="cifar"``) or the ImageNet one.

    ``image_size`` is unused (the network is size-agnostic); extra keyword arguments
    (``zero_init_residual``, ``width_per_group``, ...) go to torchvision's ``ResNet``.
    """
    if stem not in ("cifar", "imagenet"):
        raise UserError(f"resnet18: unknown stem {stem!r}; use 'cifar' or 'imagenet'")
    model = tv_resnet18(weights=None, num_classes=num_classes, **torchvision_kwargs)
    width = model.conv1.out_channels
    if stem == "cifar":
        model.conv1 = _new_conv(in_channels, width, kernel=3, stride=1, padding=1)
        model.maxpool = nn.Identity()
    elif in_channels != model.conv1.in_channels:
        model.conv1 = _new_conv(in_channels, width, kernel=7, stride=2, padding=3)
    return model


def resnet18_imagenet(
    *, num_classes: int, in_channels: int = 3, image_size: int = 32, **torchvision_kwargs: Any
) -> nn.Module:
    """torchvision ResNet-18 unchanged: 7x7 stride-2 stem and max-pool.

    This is the network the official UNSIR notebook trains on 32x32 CIFAR images (so a
    32x32 input is 1x1 in the last stage); use it to reproduce the paper's numbers. Only
    the first conv changes, and only when ``in_channels`` is not 3.
    """
    return resnet18(
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        stem="imagenet",
        **torchvision_kwargs,
    )
