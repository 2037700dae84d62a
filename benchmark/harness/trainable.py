"""Settings that cannot train on the data a run has, refused (or noted) before any training.

A capped quick run (``--set data.train_per_class=100 --set train.epochs=1``) used to crash
every cell inside the one-cycle scheduler and exit 0. These checks see that up front:

- a recipe whose schedule needs more optimizer steps than ``epochs`` x batches gives
  (one-cycle warms up over the first quarter of its steps; under 5 steps that quarter is
  empty) is refused with one line, for the original and for every gold retrain (which
  trains on the retain set, a smaller set);
- a batch larger than the training set is noted: every epoch is then one step;
- a method's retain subset (a ``retain_per_class`` or ``subset_per_class`` setting, the
  convention of the built-in methods) of at least the images a class the capped data holds
  is noted: the method then trains on the whole retain set, so it is no faster than
  retraining for the reason it was designed to be.

``check_declared`` runs from the arguments (``data.train_per_class`` and a data set's
declared class count), ``check_loaded`` on the loaded data (exact counts), both before any
model is trained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from benchmark.core.errors import UserError
from benchmark.core.training import MIN_ONECYCLE_STEPS, TrainRecipe

SUBSET_FIELDS = ("retain_per_class", "subset_per_class")  # a method's retain subset a class


def steps_of(recipe: TrainRecipe, images: int) -> int:
    """Optimizer steps a training of ``recipe`` on ``images`` images takes."""
    return recipe.epochs * -(-images // recipe.batch_size)


def check_steps(recipe: TrainRecipe, images: int, what: str) -> None:
    """Refuse a one-cycle recipe with fewer steps than its warm-up needs (see the module)."""
    steps = steps_of(recipe, images)
    if recipe.schedule != "onecycle" or steps >= MIN_ONECYCLE_STEPS:
        return
    raise UserError(
        f"{what}: train.epochs={recipe.epochs} x {-(-images // recipe.batch_size)} batch(es) of "
        f"train.batch_size={recipe.batch_size} on {images:,} images is {steps} optimizer "
        f"step(s); the one-cycle schedule needs at least {MIN_ONECYCLE_STEPS}: raise train.epochs "
        "or data.train_per_class, lower train.batch_size, or set train.schedule=cosine")


def batch_note(recipe: TrainRecipe, images: int, what: str) -> str | None:
    if recipe.batch_size <= images:
        return None
    return (f"{what}: train.batch_size={recipe.batch_size} is larger than its {images:,} training "
            "images: every epoch is one step of all of them")


def subset_notes(instances: Mapping[str, object], per_class: int) -> list[str]:
    """Notes for methods whose retain subset a class covers all ``per_class`` images a class."""
    notes = []
    for name, method in instances.items():
        config = getattr(method, "config", None)
        if config is None or not dataclasses.is_dataclass(config):
            continue
        for field in SUBSET_FIELDS:
            wanted = getattr(config, field, 0)
            if isinstance(wanted, int) and wanted >= per_class > 0:
                notes.append(f"{name}: {name}.{field}={wanted} is at least the {per_class:,} "
                             f"training images a class the data holds: its subset is the whole "
                             f"retain set, so it costs what training on all of it costs (lower "
                             f"--set {name}.{field}=N to keep it a subset)")
    return notes


def check_declared(recipes: Mapping[tuple[str, str], TrainRecipe], per_class: int,
                   classes: Mapping[str, int | None]) -> None:
    """From the arguments: the original's steps when the data is capped and the count known."""
    if not per_class:
        return
    for (model, dataset), recipe in recipes.items():
        count = classes.get(dataset)
        if count:
            check_steps(recipe, per_class * count,
                        f"{model} on {dataset} capped at {per_class} images a class")


def check_loaded(groups: Iterable, recipe_of: Callable[[str, str], TrainRecipe],
                 instances: Mapping[str, object], note: Callable[[str], None]) -> None:
    """On the loaded data: the original's and each gold retrain's steps (refused), then notes."""
    said: set[str] = set()
    for group in groups:
        recipe = recipe_of(group.model, group.dataset)
        images = len(group.data.train_y)
        where = f"{group.model}/{group.dataset}"
        check_steps(recipe, images, f"{where} original")
        for forget in group.forget_sets:
            check_steps(recipe, images - forget.size(group.data),
                        f"{where} forget {forget.label} gold retrain")
        counts = group.data.train_y.bincount()
        lines = [batch_note(recipe, images, f"{where} original"),
                 *subset_notes(instances, int(counts[counts > 0].min()) if len(counts) else 0)]
        for line in lines:
            if line and line not in said:
                said.add(line)
                note(line)
