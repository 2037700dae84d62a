"""The in-memory image data set every loader returns: uint8 tensors, decoded once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from benchmark.core.registry import Registry


@dataclass(frozen=True)
class ImageDataset:
    """Train and test splits as uint8 ``N x C x H x W`` images and int64 labels.

    ``mean`` and ``std`` are the per-channel normalisation in [0, 1] units that models see;
    normalisation and augmentation happen batch-wise on the device (see benchmark.core.training).
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    # Data sets whose labels are superclasses (CIFAR-20) keep the fine labels too: the
    # sub-class forgetting scenario forgets one fine class while its superclass stays.
    train_fine_y: torch.Tensor | None = None
    test_fine_y: torch.Tensor | None = None
    fine_classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != torch.uint8 or x.dim() != 4:
                raise ValueError(f"{self.name} {split} images must be uint8 N x C x H x W")
            if y.dtype != torch.int64 or y.shape[0] != x.shape[0]:
                raise ValueError(f"{self.name} {split} labels must be int64 with one per image")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"{self.name}: mean/std need one value per channel")
        for split, fine, y in (("train", self.train_fine_y, self.train_y),
                               ("test", self.test_fine_y, self.test_y)):
            if fine is not None and (fine.shape != y.shape or not self.fine_classes):
                raise ValueError(f"{self.name} {split}: fine labels need one per image and names")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    def to(self, device: torch.device | str) -> ImageDataset:
        """The same data on ``device`` (kept uint8: four times less memory than float)."""
        fine = {k: getattr(self, k).to(device) for k in ("train_fine_y", "test_fine_y")
                if getattr(self, k) is not None}
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
            **fine,
        )

    def with_superclasses(self, fine_to_coarse: list[int], coarse_names: tuple[str, ...],
                          name: str) -> ImageDataset:
        """This data set relabelled with superclasses, its labels kept as the fine labels."""
        table = torch.tensor(fine_to_coarse, dtype=torch.int64)
        return replace(
            self, name=name, train_y=table[self.train_y.cpu()], test_y=table[self.test_y.cpu()],
            classes=tuple(coarse_names), train_fine_y=self.train_y, test_fine_y=self.test_y,
            fine_classes=self.classes,
        )


@dataclass(frozen=True)
class DataSource:
    """Where loaders find files: a data root (folder or archive) and a decode cache."""

    data_root: str | None = None
    cache_dir: str | None = None
    seed: int = 0


# A loader takes a DataSource and returns the data set; it raises UserError for missing data.
DatasetLoader = Callable[[DataSource], ImageDataset]

DATASETS: Registry[DatasetLoader] = Registry("data set", "unlearning_bench.datasets")


def declare_classes(count: int) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator: the number of classes a loader's data set has, known without loading it
    (so a forget set it cannot have is refused before anything is decoded)."""

    def mark(loader: DatasetLoader) -> DatasetLoader:
        loader.num_classes = count  # type: ignore[attr-defined]
        return loader

    return mark


def declared_classes(loader: DatasetLoader) -> int | None:
    """The class count ``loader`` declared with :func:`declare_classes`, or None (unknown
    until loaded, e.g. a folder of face identities)."""
    count = getattr(loader, "num_classes", None)
    return count if isinstance(count, int) and not isinstance(count, bool) else None
