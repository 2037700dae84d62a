"""Labelled image tensors, normalisation and augmentation done batch-wise on the device.

Images stay uint8 until a batch is drawn (four times less memory than float, and no
DataLoader workers on the hot path). Float tensors, such as UNSIR's learned noise, are
taken to live in the model's input space already and are passed through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from benchmark.core.errors import UserError


@dataclass(frozen=True)
class LabelledImages:
    """Images (uint8 pixels, or float already normalised) and int64 labels, same length."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError("images and labels differ in length")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def select(self, index: torch.Tensor) -> LabelledImages:
        return LabelledImages(self.x[index], self.y[index])

    def take(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels at ``index`` (what batch iteration calls)."""
        return self.x[index], self.y[index]

    def to(self, device: torch.device) -> LabelledImages:
        return LabelledImages(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class TiledImages:
    """``copies`` repetitions of ``base`` without materialising them (index modulo length).

    UNSIR feeds each learned noise batch many times; tiling keeps that free of memory.
    """

    base: LabelledImages
    copies: int

    def __len__(self) -> int:
        return len(self.base) * self.copies

    @property
    def x(self) -> torch.Tensor:  # device and dtype queries only
        return self.base.x

    def take(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.base.take(index % len(self.base))


class Normalizer:
    """uint8 -> float, scaled to [0, 1] and standardised per channel, on the tensor's device."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device) -> None:
        self.mean = torch.tensor(mean, device=device, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device, dtype=torch.float32).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x.float()
        return (x.float().div_(255.0) - self.mean).div_(self.std)


@dataclass(frozen=True)
class Augment:
    """Random crop with zero padding and horizontal flip, applied to a whole batch at once."""

    crop_padding: int = 4
    flip: bool = True

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.flip:
            flip_mask = torch.rand(n, device=x.device, generator=generator) < 0.5
            x = torch.where(flip_mask.view(-1, 1, 1, 1), x.flip(3), x)
        pad = self.crop_padding
        if pad > 0:
            padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
            # One random offset per image, gathered with index arithmetic instead of a loop.
            dy = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=generator)
            dx = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=generator)
            rows = (dy.view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
            cols = (dx.view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
            batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
            channels = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
            x = padded[batch, channels, rows, cols]
        return x


def shuffled_batches(
    parts: Sequence[LabelledImages | TiledImages],
    batch_size: int,
    generator: torch.Generator,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[list[torch.Tensor], list[torch.Tensor]]]:
    """Yield batches drawn from the concatenation of ``parts`` (each may have its own dtype).

    Each yield is (per-part images, per-part labels) for the rows of that batch, so the
    caller can normalise uint8 parts and pass float parts through before concatenating.
    """
    sizes = [len(part) for part in parts]
    total = sum(sizes)
    order = torch.randperm(total, generator=generator) if shuffle else torch.arange(total)
    offsets = torch.tensor([0, *sizes]).cumsum(0)
    stop = total - total % batch_size if drop_last else total
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        xs, ys = [], []
        for part_id, part in enumerate(parts):
            if len(parts) == 1:
                local = index
            else:
                lo, hi = int(offsets[part_id]), int(offsets[part_id + 1])
                local = index[(index >= lo) & (index < hi)] - lo
                if local.numel() == 0:
                    continue
            x, y = part.take(local.to(part.x.device))
            xs.append(x)
            ys.append(y)
        yield xs, ys


def class_mask(labels: torch.Tensor, classes: tuple[int, ...]) -> torch.Tensor:
    """Boolean mask of the samples whose label is in ``classes``."""
    return torch.isin(labels, torch.tensor(classes, device=labels.device, dtype=labels.dtype))


def balanced_subset(
    data: LabelledImages, per_class: int, first_in_order: bool, seed: int
) -> LabelledImages:
    """Up to ``per_class`` samples of each class present in ``data``.

    Random with ``seed`` by default; ``first_in_order`` keeps the first ones in storage order,
    as the UNSIR reference notebook does (it takes the first 1000 of each class).
    """
    labels = data.y.cpu()
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for cls in torch.unique(labels).tolist():
        index = torch.nonzero(labels == cls).flatten()
        if not first_in_order:
            index = index[torch.randperm(index.numel(), generator=generator)]
        chosen.append(index[:per_class])
    if not chosen:
        raise UserError("the retain subset is empty: the data set has no retained samples")
    index = torch.cat(chosen).sort().values.to(data.y.device)
    return data.select(index)
