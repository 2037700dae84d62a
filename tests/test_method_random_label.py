"""Random labels (methods/random_label.py): forgets, is deterministic, uses only declared data."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmark.core.config import apply_overrides
from benchmark.core.errors import DataAccessError, UserError
from benchmark.models import create_model
from methods.random_label import RandomLabel, RandomLabelConfig, random_wrong_labels
from tests.helpers import accuracy_on, request_for, tiny_data, trained_model

# A larger lr than the CIFAR-scale default: the toy set has ~10 batches an epoch.
FAST = RandomLabelConfig(epochs=2, lr=3e-3, batch_size=64)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def original(data):
    return trained_model(data)


def _others(forget: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in range(10) if c not in forget)


def _unlearn(config: RandomLabelConfig, original, data, forget, seed: int = 0):
    method = RandomLabel(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_wrong_labels_are_wrong_uniform_and_seeded() -> None:
    labels = torch.tensor([0, 3, 9] * 2000)
    drawn = random_wrong_labels(labels, 10, torch.Generator().manual_seed(0))
    assert not (drawn == labels).any()
    for true in (0, 3, 9):
        counts = torch.bincount(drawn[labels == true], minlength=10)
        assert counts[true] == 0 and (counts[torch.arange(10) != true] > 150).all()
    again = random_wrong_labels(labels, 10, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, again)
    with pytest.raises(ValueError, match="two classes"):
        random_wrong_labels(torch.zeros(3, dtype=torch.long), 1, torch.Generator())


def test_forgets_the_class_and_keeps_the_rest(data, original) -> None:
    # Measured: forget 1.00 -> 0.00, retain 1.00 -> 1.00 (chance is 0.10).
    assert accuracy_on(original, data, (2,)) > 0.9
    model = _unlearn(FAST, original, data, (2,))
    assert accuracy_on(model, data, (2,)) < 0.3
    assert accuracy_on(model, data, _others((2,))) > 0.85


def test_same_seed_same_weights_whatever_the_global_rng(data, original) -> None:
    torch.manual_seed(1)
    first = _unlearn(FAST, original, data, (2,), seed=5)
    torch.manual_seed(2)
    second = _unlearn(FAST, original, data, (2,), seed=5)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = _unlearn(FAST, original, data, (2,), seed=6)
    assert not torch.equal(other.classifier.weight, first.classifier.weight)


@pytest.mark.parametrize("missing", sorted(RandomLabel.needs, key=lambda a: a.value))
def test_each_declared_access_is_needed(data, original, missing) -> None:
    class Lacking(RandomLabel):
        needs = frozenset(RandomLabel.needs - {missing})

    request = request_for(Lacking, data, (2,))
    with pytest.raises(DataAccessError, match=repr(missing.value)):
        RandomLabel(FAST).unlearn(copy.deepcopy(original), request)


def test_several_forget_classes(data, original) -> None:
    # Measured: both classes 1.00 -> 0.00, retain 1.00.
    model = _unlearn(FAST, original, data, (1, 4))
    assert accuracy_on(model, data, (1,)) < 0.3 and accuracy_on(model, data, (4,)) < 0.3
    assert accuracy_on(model, data, _others((1, 4))) > 0.85


def test_runs_on_allcnn() -> None:
    small = tiny_data(train_per_class=12, test_per_class=2)
    torch.manual_seed(0)
    model = create_model("allcnn", small.num_classes, small.channels, small.image_size)
    before = copy.deepcopy(model.state_dict())
    method = RandomLabel(RandomLabelConfig(epochs=1, batch_size=64))
    out = method.unlearn(model, request_for(method, small, (0, 3)))
    changed = [n for n, p in out.named_parameters() if not torch.equal(p, before[n])]
    assert changed and all(torch.isfinite(p).all() for p in out.parameters())


@pytest.mark.parametrize("key, value", [("lr", -1), ("lr", 0), ("epochs", -1), ("batch_size", 0)])
def test_out_of_bounds_settings_are_refused(key, value) -> None:
    with pytest.raises(UserError, match=f"random_label.{key}"):
        apply_overrides(RandomLabelConfig(), {key: value}, "random_label")
