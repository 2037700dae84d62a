"""NegGrad+ (methods/neggrad.py): forgets, is deterministic, uses only the data it declares."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmark.core.config import apply_overrides
from benchmark.core.errors import DataAccessError, UserError
from benchmark.models import create_model
from methods.api import Access
from methods.neggrad import NegGrad, NegGradConfig
from tests.helpers import accuracy_on, request_for, tiny_data, trained_model

# Stronger than the CIFAR-scale defaults: the toy set has ~10 retain batches an epoch.
FAST = NegGradConfig(alpha=0.9, epochs=3, lr=0.1, retain_batch_size=64, forget_batch_size=32)
ASCENT = NegGradConfig(ascent_only=True, epochs=2, lr=0.1, forget_batch_size=32)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def original(data):
    return trained_model(data)


def _others(forget: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in range(10) if c not in forget)


def _unlearn(config: NegGradConfig, original, data, forget, seed: int = 0):
    method = NegGrad(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_forgets_the_class_and_keeps_the_rest(data, original) -> None:
    # Measured: forget 1.00 -> 0.00, retain 1.00 -> 0.92 (chance is 0.10).
    assert accuracy_on(original, data, (2,)) > 0.9
    model = _unlearn(FAST, original, data, (2,))
    assert accuracy_on(model, data, (2,)) < 0.3
    assert accuracy_on(model, data, _others((2,))) > 0.75


def test_plain_gradient_ascent_needs_no_retain_data(data, original) -> None:
    # ascent_only never asks for the retain set: a request without it works.
    class ForgetOnly(NegGrad):
        needs = frozenset({Access.FORGET})

    request = request_for(ForgetOnly, data, (2,))
    model = NegGrad(ASCENT).unlearn(copy.deepcopy(original), request)
    assert request.samples_seen == {"forget": 60}
    # Measured: forget 0.00, retain 0.97.
    assert accuracy_on(model, data, (2,)) < 0.3
    assert accuracy_on(model, data, _others((2,))) > 0.6


def test_same_seed_same_weights_whatever_the_global_rng(data, original) -> None:
    torch.manual_seed(1)
    first = _unlearn(FAST, original, data, (2,), seed=5)
    torch.manual_seed(2)
    second = _unlearn(FAST, original, data, (2,), seed=5)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = _unlearn(FAST, original, data, (2,), seed=6)
    assert not torch.equal(other.classifier.weight, first.classifier.weight)


@pytest.mark.parametrize("missing", sorted(NegGrad.needs, key=lambda a: a.value))
def test_each_declared_access_is_needed(data, original, missing) -> None:
    class Lacking(NegGrad):
        needs = frozenset(NegGrad.needs - {missing})

    request = request_for(Lacking, data, (2,))
    with pytest.raises(DataAccessError, match=repr(missing.value)):
        NegGrad(FAST).unlearn(copy.deepcopy(original), request)


def test_several_forget_classes(data, original) -> None:
    # Measured: both classes 1.00 -> 0.00, retain 0.99.
    model = _unlearn(FAST, original, data, (1, 4))
    assert accuracy_on(model, data, (1,)) < 0.3 and accuracy_on(model, data, (4,)) < 0.3
    assert accuracy_on(model, data, _others((1, 4))) > 0.75


def test_runs_on_allcnn() -> None:
    small = tiny_data(train_per_class=12, test_per_class=2)
    torch.manual_seed(0)
    model = create_model("allcnn", small.num_classes, small.channels, small.image_size)
    before = copy.deepcopy(model.state_dict())
    config = NegGradConfig(alpha=0.9, epochs=1, retain_batch_size=64, forget_batch_size=16)
    method = NegGrad(config)
    out = method.unlearn(model, request_for(method, small, (0, 3)))
    changed = [n for n, p in out.named_parameters() if not torch.equal(p, before[n])]
    assert changed and all(torch.isfinite(p).all() for p in out.parameters())


@pytest.mark.parametrize("key, value", [("lr", -1), ("alpha", 1.5), ("epochs", -1),
                                        ("momentum", 1.0), ("forget_batch_size", 0)])
def test_out_of_bounds_settings_are_refused(key, value) -> None:
    with pytest.raises(UserError, match=f"neggrad.{key}"):
        apply_overrides(NegGradConfig(), {key: value}, "neggrad")
