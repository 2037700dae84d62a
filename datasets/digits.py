"""The scikit-learn digits set: 1,797 8x8 grayscale handwritten digits, embedded and offline.

The images ship inside scikit-learn, so this data set needs no download and no data root:
it is the default for quick CPU runs. Values 0..16 are scaled to 0..255 uint8. The train/test
split is stratified 80/20 per class with a fixed seed that does not depend on
``DataSource.seed``, so every run and every seed sees the same test set.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from datasets.base import DATASETS, DataSource, ImageDataset, declare_classes
from datasets.imagefolder import channel_stats

TEST_FRACTION = 0.2
SPLIT_SEED = 20240101  # fixed on purpose: the split must never change between runs


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices with ``round(test_fraction * n)`` test items per class."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(test_fraction * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 images (N x 8 x 8, values 0..16) and labels, as ``sklearn.datasets.load_digits``.

    Read from scikit-learn's own file without importing scikit-learn, which takes 1.5-2 s
    (with scipy and pandas) on 2 CPU cores: most of a cached default run's start-up. Where
    the file is not at its usual place (another scikit-learn layout), scikit-learn loads it.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package, does not import it
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.images, bunch.target.astype(np.int64)


@DATASETS.register("digits")
@declare_classes(10)
def load_digits(source: DataSource) -> ImageDataset:
    """The scikit-learn digits, ``N x 1 x 8 x 8`` uint8, classes "0".."9" (``source`` unused)."""
    pixels, labels = digits_arrays()
    # 0..16 -> 0..255: x * 255 / 16, rounded, so 16 maps to exactly 255.
    images = np.rint(pixels * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    train_x = x[train].contiguous()
    mean, std = channel_stats(train_x)
    return ImageDataset(
        name="digits",
        train_x=train_x,
        train_y=y[train].contiguous(),
        test_x=x[test].contiguous(),
        test_y=y[test].contiguous(),
        classes=tuple(str(d) for d in range(10)),
        mean=mean,
        std=std,
    )
