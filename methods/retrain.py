"""Retraining from scratch on the retain data: the gold standard every method is judged by.

Exact unlearning by definition (the model never saw the forget classes). Trains a *new*
model of the original's architecture, built by ``request.new_model()``, with the original's
training recipe (``request.original_recipe``) unless the config overrides epochs.

Deviation from some reference code: unlearning repositories often "re-initialise" by calling
``reset_parameters`` on the model's top-level children only, which leaves nested modules
(every layer inside a ResNet block) with the original weights. Building a fresh model
re-initialises every parameter and buffer; tests/test_methods.py checks that no parameter
keeps its original value.

Expected: forget accuracy 0 (the classes are never seen) and retain accuracy close to the
original's; it is the slowest method, the denominator of every speedup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from methods.api import (
    ALL_SCENARIOS,
    Access,
    LabelledImages,
    MethodStyle,
    TrainRecipe,
    UnlearningMethod,
    UnlearnRequest,
    derive_seed,
    register_method,
    setting,
    train_with_recipe,
)


@dataclass(frozen=True)
class RetrainConfig:
    """``epochs=0`` means: as many epochs as the original's recipe (the fair comparison)."""

    epochs: int = setting(0, ge=0)


@register_method
class Retrain(UnlearningMethod):
    """Train a freshly initialised model on the retain set only."""

    name = "retrain"
    needs = frozenset({Access.RETAIN})
    scenarios = ALL_SCENARIOS  # defined for any set of samples
    requires = "nothing but time: a full training on the retain set"
    Config = RetrainConfig
    paper = "Retraining from scratch (exact unlearning baseline)"
    # Near-black and dashed in line plots: the reference every method is judged by.
    style = MethodStyle(label="Retrain", colour="#262626", marker="s")

    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        fresh, retain, recipe, seed = self.training(request)
        train_with_recipe(fresh, retain, recipe, request.engine, request.normalizer,
                          seed=seed, monitor=request.schedule_monitor, checkpoint=request.checkpoint)
        return fresh

    def training(self, request: UnlearnRequest) -> tuple[nn.Module, LabelledImages,
                                                         TrainRecipe, int]:
        """What :meth:`unlearn` trains: a fresh model, the retain data, the recipe and the
        seed of the training loop. The harness trains the retrained models of a population
        together from these (benchmark.harness.pool_training)."""
        recipe = request.original_recipe
        if self.config.epochs > 0:
            recipe = replace(recipe, epochs=self.config.epochs)
        fresh = request.engine.prepare(request.new_model())
        retain = request.retain().to(request.engine.device)
        return fresh, retain, recipe, derive_seed(request.seed, salt=1, stride=1)
