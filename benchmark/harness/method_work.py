"""Each built-in method's work, counted in passes over images from its config.

The estimate (benchmark.harness.estimate) prices these passes on the calibrated device; a
method it does not know costs one epoch over the retain set, unless it declares an
``estimated_work`` function of its own (config, sizes) -> passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """What a method's cost depends on: the split sizes of one forget set."""

    n_train: int
    n_retain: int
    n_forget: int
    n_classes: int
    forget_classes: int
    per_class: int  # training images of the smallest retained class
    recipe: Any  # TrainRecipe
    cpu: bool = True  # where the run goes: some methods take another path on CUDA


# A pass: (images, batch, kind) with kind "train", "forward", "input_gradient" (a forward and
# a backward pass to the input only, weights frozen: UNSIR's noise), "per_sample" (torch.func:
# one gradient an image, and a class) or one of LAYERWISE (the CPU's layerwise squares).
Pass = tuple[float, int, str]
Work = Callable[[Any, Sizes], list[Pass]]

# Cotangents a sample of the layerwise backend: the exact Fisher's C - 1
# (methods/per_sample_squares.fisher_cotangents), one for the empirical or sampled one (SSD).
LAYERWISE: dict[str, Callable[[Sizes], int]] = {
    "layerwise_exact": lambda s: max(s.n_classes - 1, 1),
    "layerwise_one": lambda s: 1,
}


def one_epoch(cfg: Any, s: Sizes) -> list[Pass]:
    """A method the estimate does not know: one epoch over the retain set."""
    return [(s.n_retain, getattr(cfg, "batch_size", 0) or s.recipe.batch_size, "train")]


def _retrain(cfg: Any, s: Sizes) -> list[Pass]:
    return [((cfg.epochs or s.recipe.epochs) * s.n_retain, s.recipe.batch_size, "train")]


def _unsir(cfg: Any, s: Sizes) -> list[Pass]:
    noise = s.forget_classes * cfg.noise_batch
    subset = min(cfg.retain_per_class, s.per_class) * (s.n_classes - s.forget_classes)
    return [(cfg.noise_steps * noise, noise, "input_gradient"),
            (cfg.impair_epochs * (noise * cfg.noise_copies + subset), cfg.batch_size, "train"),
            (cfg.repair_epochs * subset, cfg.batch_size, "train")]


def _fisher(cfg: Any, s: Sizes) -> list[Pass]:
    retained = s.n_classes - s.forget_classes
    n = min(s.n_retain, cfg.subset_per_class * retained) if cfg.subset_per_class else s.n_retain
    exact = getattr(cfg, "approximation", "exact") == "exact"
    if _layerwise(cfg, s):
        return [(n, s.recipe.batch_size, "layerwise_exact" if exact else "layerwise_one")]
    return [(n * (s.n_classes if exact else 1), s.recipe.batch_size, "per_sample")]


def _layerwise(cfg: Any, s: Sizes) -> bool:
    """Whether Fisher's and SSD's importances take the CPU's layerwise backend
    (methods/per_sample_squares.py), priced from the model's layers, or torch.func's vmap
    (``backend=func``, the CUDA default), priced per gradient."""
    return s.cpu and getattr(cfg, "backend", "auto") != "func"


def _finetune(cfg: Any, s: Sizes) -> list[Pass]:
    return [(cfg.epochs * s.n_retain, cfg.batch_size, "train")]


def _neggrad(cfg: Any, s: Sizes) -> list[Pass]:
    if getattr(cfg, "ascent_only", False):
        return [(cfg.epochs * s.n_forget, cfg.forget_batch_size, "train")]
    steps = math.ceil(s.n_retain / cfg.retain_batch_size)
    return [(cfg.epochs * s.n_retain, cfg.retain_batch_size, "train"),
            (cfg.epochs * steps * min(cfg.forget_batch_size, s.n_forget), cfg.forget_batch_size, "train")]


def _scrub(cfg: Any, s: Sizes) -> list[Pass]:
    return [(s.n_train, 256, "forward"),
            (min(cfg.epochs, cfg.max_epochs) * s.n_forget, cfg.forget_batch_size, "train"),
            (cfg.epochs * s.n_retain, cfg.retain_batch_size, "train")]


def _bad_teacher(cfg: Any, s: Sizes) -> list[Pass]:
    images = s.n_forget + int(cfg.retain_fraction * s.n_retain)
    return [(images, 256, "forward"), (cfg.epochs * images, cfg.batch_size, "train")]


def _random_label(cfg: Any, s: Sizes) -> list[Pass]:
    return [(cfg.epochs * s.n_train, cfg.batch_size, "train")]


def _salun(cfg: Any, s: Sizes) -> list[Pass]:
    return [(s.n_forget, cfg.batch_size, "train"), (cfg.epochs * s.n_train, cfg.batch_size, "train")]


def _l1_sparse(cfg: Any, s: Sizes) -> list[Pass]:
    return [(cfg.epochs * s.n_retain, cfg.batch_size, "train")]


def _boundary_shrink(cfg: Any, s: Sizes) -> list[Pass]:
    return [(s.n_forget, cfg.batch_size, "train"), (cfg.epochs * s.n_forget, cfg.batch_size, "train")]


def _ssd(cfg: Any, s: Sizes) -> list[Pass]:
    if getattr(cfg, "quirk_minibatch_importance", False):
        return [(s.n_train + s.n_forget, cfg.quirk_batch_size, "train")]
    return [(s.n_train, s.recipe.batch_size,  # one gradient a sample
             "layerwise_one" if _layerwise(cfg, s) else "per_sample")]


METHOD_WORK: dict[str, Work] = {
    "retrain": _retrain, "unsir": _unsir, "fisher": _fisher, "finetune": _finetune,
    "neggrad": _neggrad, "scrub": _scrub, "bad_teacher": _bad_teacher,
    "random_label": _random_label, "salun": _salun, "l1_sparse": _l1_sparse,
    "boundary_shrink": _boundary_shrink, "ssd": _ssd,
}
