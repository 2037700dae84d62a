"""A tiny deterministic synthetic data set for tests: learnable in a few CPU epochs.

Each class has its own mean image: a class colour (a per-channel offset, which survives
global average pooling) plus a smooth random spatial pattern (which a convolution picks up);
each sample is its class mean plus Gaussian noise. With the defaults (10 classes, 3 x 8 x 8,
60 train + 20 test per class) a small CNN reaches well above 90% test accuracy in a few
epochs, so tests can check that training and unlearning move accuracy the expected way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from datasets.base import DATASETS, DataSource, ImageDataset, declare_classes
from datasets.imagefolder import channel_stats

NOISE_STD = 24.0  # in 0..255 units: enough that the task is not trivially a lookup


def make_synthetic(
    num_classes: int = 10,
    train_per_class: int = 60,
    test_per_class: int = 20,
    channels: int = 3,
    size: int = 8,
    seed: int = 0,
) -> ImageDataset:
    """A class-balanced synthetic image set; the same arguments give the same tensors."""
    if num_classes < 1 or train_per_class < 1 or test_per_class < 0 or channels < 1 or size < 1:
        raise ValueError("make_synthetic needs positive class, sample, channel and size counts")
    rng = np.random.default_rng(seed)
    colours = rng.uniform(-70.0, 70.0, size=(num_classes, channels, 1, 1))
    # A coarse random grid upsampled to the image size gives smooth, distinct blobs.
    coarse = max(2, size // 2)
    grid = torch.from_numpy(rng.uniform(-1.0, 1.0, size=(num_classes, channels, coarse, coarse)))
    patterns = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=False).numpy()
    means = 128.0 + colours + 50.0 * patterns

    def sample(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = np.repeat(np.arange(num_classes), per_class)
        noise = rng.normal(0.0, NOISE_STD, size=(len(labels), channels, size, size))
        images = np.rint(means[labels] + noise).clip(0, 255).astype(np.uint8)
        return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))

    train_x, train_y = sample(train_per_class)
    test_x, test_y = sample(test_per_class) if test_per_class else (
        torch.empty((0, channels, size, size), dtype=torch.uint8), torch.empty(0, dtype=torch.int64))
    mean, std = channel_stats(train_x)
    return ImageDataset(
        name="synthetic",
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        classes=tuple(f"class{k}" for k in range(num_classes)),
        mean=mean,
        std=std,
    )


@DATASETS.register("synthetic")
@declare_classes(10)
def load_synthetic(source: DataSource) -> ImageDataset:
    """The default synthetic set (fixed seed 0, whatever ``source.seed`` is)."""
    return make_synthetic()


@DATASETS.register("synthetic_coarse")
@declare_classes(5)
def load_synthetic_coarse(source: DataSource) -> ImageDataset:
    """The synthetic set's 10 classes as the fine labels of 5 superclasses (pairs 0-1, 2-3,
    ...): the small stand-in for CIFAR-20 that the sub-class scenario's tests use."""
    return make_synthetic().with_superclasses([k // 2 for k in range(10)],
                                              tuple(f"group{k}" for k in range(5)),
                                              "synthetic_coarse")
