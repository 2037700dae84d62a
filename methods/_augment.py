"""The original recipe's augmentation, drawn from a seeded generator (l1_sparse and salun).

Their reference code fine-tunes on the training transforms (random crop and flip for
CIFAR); ``Augment`` without a generator would draw from the global RNG, so these methods
pass one seeded from the run's seed instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from methods.api import Augment, TrainRecipe, derive_seed


@dataclass(frozen=True)
class SeededAugment(Augment):
    """``Augment`` whose draws come from its own generator (on the images' device)."""

    generator: torch.Generator | None = None

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return super().__call__(x, generator if generator is not None else self.generator)


def recipe_augment(recipe: TrainRecipe, device: torch.device, seed: int, salt: int) -> Augment | None:
    """The recipe's crop and flip seeded on stream ``salt`` of ``seed``, or None without them.

    The generator lives on ``device`` (torch draws on a device only from a generator there),
    so a seed gives the same crops on every run on one device type.
    """
    if not recipe.augment:
        return None
    generator = torch.Generator(device=device).manual_seed(derive_seed(seed, salt))
    return SeededAugment(recipe.crop_padding, recipe.flip, generator)
