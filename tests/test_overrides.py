"""--set parsing and typed overrides of hyperparameter dataclasses."""

from __future__ import annotations

import pytest

from benchmark.core.config import apply_overrides
from benchmark.core.errors import UserError
from benchmark.core.training import TrainRecipe
from benchmark.harness.settings import parse_assignments, settle
from methods.unsir import UnsirConfig


def test_parse_assignments_groups_by_section() -> None:
    parsed = parse_assignments(["unsir.impair_lr=0.05", "train.epochs=3", "unsir.quirk_label_zero=true"])
    assert parsed == {"unsir": {"impair_lr": 0.05, "quirk_label_zero": True}, "train": {"epochs": 3}}


def test_overrides_are_typed() -> None:
    config = apply_overrides(UnsirConfig(), {"impair_lr": 1, "noise_steps": 7}, "unsir")
    assert config.impair_lr == 1.0 and isinstance(config.impair_lr, float)
    assert config.noise_steps == 7


@pytest.mark.parametrize("values, message", [
    ({"no_such": 1}, "unknown setting unsir.no_such"),
    ({"noise_steps": 1.5}, "must be a whole number"),
    ({"quirk_label_zero": "maybe"}, "must be true or false"),
])
def test_bad_overrides_are_user_errors(values: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        apply_overrides(UnsirConfig(), values, "unsir")


def test_literal_and_optional_fields() -> None:
    recipe = apply_overrides(TrainRecipe(), {"optimizer": "adam", "grad_clip_value": None}, "train")
    assert recipe.optimizer == "adam" and recipe.grad_clip_value is None
    with pytest.raises(UserError, match="choose one of"):
        apply_overrides(TrainRecipe(), {"optimizer": "lbfgs"}, "train")


def test_malformed_assignment() -> None:
    with pytest.raises(UserError, match="bad --set"):
        parse_assignments(["impair_lr=0.1"])


def test_recipe_precedence_defaults_preset_model_dataset_then_flags() -> None:
    """One rule (benchmark.harness.spec): defaults < [train] < [train.model.X] <
    [train.dataset.Y] < --set; each level wins only over the ones before it."""
    from benchmark.harness.settings import apply_section, spec_from_preset

    preset = {"train": {"epochs": 3, "lr": 0.2, "model": {"smallcnn": {"epochs": 4, "lr": 0.3}},
                        "dataset": {"digits": {"epochs": 5}}},
              "models": ["smallcnn", "allcnn", "resnet18"], "datasets": ["cifar10", "digits", "faces"]}
    spec = spec_from_preset(preset)
    recipe = settle(spec).recipes
    assert recipe["allcnn", "cifar10"].epochs == 3
    assert recipe["smallcnn", "cifar10"].epochs == 4
    assert recipe["allcnn", "digits"].epochs == 5
    assert (recipe["smallcnn", "digits"].epochs, recipe["smallcnn", "digits"].lr) == (5, 0.3)
    assert recipe["resnet18", "faces"].batch_size == TrainRecipe().batch_size
    apply_section(spec, "train", {"epochs": 6}, from_flags=True)
    recipe = settle(spec).recipes
    assert {recipe[m, d].epochs for m in ("smallcnn", "allcnn")
            for d in ("digits", "cifar10")} == {6}
    assert recipe["smallcnn", "cifar10"].lr == 0.3  # flags override only what they set
