"""Every method in tests/method_contracts.py held to the same checks on the toy set."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from benchmark.core.config import apply_overrides
from benchmark.core.errors import DataAccessError, UserError
from benchmark.models import create_model
from methods.api import Access
from tests.helpers import accuracy_on, request_for, tiny_data
from tests.method_contracts import CONTRACTS, Contract

by_name = pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)


def _unlearn(contract: Contract, config, original, data, forget, seed: int = 0):
    method = contract.method(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def _others(forget: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in range(10) if c not in forget)


@by_name
def test_forgets_the_class_and_keeps_the_rest(contract, data, original) -> None:
    assert accuracy_on(original, data, (2,)) > 0.9  # chance is 0.1
    model = _unlearn(contract, contract.fast, original, data, (2,))
    assert accuracy_on(model, data, (2,)) < contract.forget_below, contract.measured
    assert accuracy_on(model, data, _others((2,))) > contract.retain_above, contract.measured


@by_name
def test_forgets_several_classes_at_once(contract, data, original) -> None:
    model = _unlearn(contract, contract.several or contract.fast, original, data, (1, 4))
    for forgotten in (1, 4):
        assert accuracy_on(model, data, (forgotten,)) < contract.forget_below, contract.measured
    retained = accuracy_on(model, data, _others((1, 4)))
    assert retained > contract.several_retain_above, contract.measured


@by_name
def test_same_seed_same_weights_whatever_the_global_rng(contract, data, original) -> None:
    config = contract.repeat or contract.fast
    torch.manual_seed(1)
    first = _unlearn(contract, config, original, data, (2,), seed=5).state_dict()
    torch.manual_seed(2)
    second = _unlearn(contract, config, original, data, (2,), seed=5).state_dict()
    for name, weights in first.items():
        assert torch.equal(weights, second[name]), name
    if contract.seeded:  # the seed must reach every draw the method makes
        other = _unlearn(contract, config, original, data, (2,), seed=6).state_dict()
        assert any(not torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize(
    "contract, missing",
    [(c, access) for c in CONTRACTS for access in sorted(c.method.needs, key=lambda a: a.value)],
    ids=lambda value: value.name if isinstance(value, Contract) else value.value,
)
def test_each_declared_access_is_needed(contract, missing, data, original) -> None:
    class Lacking(contract.method):
        needs = frozenset(contract.method.needs - {missing})

    request = request_for(Lacking, data, (2,))
    with pytest.raises(DataAccessError, match=repr(missing.value)):
        contract.method(contract.fast).unlearn(copy.deepcopy(original), request)


@by_name
def test_uses_exactly_the_declared_data(contract, data, original) -> None:
    request = request_for(contract.method, data, (2,))
    for undeclared in set(Access) - contract.method.needs:  # not even carried by the request
        assert getattr(request, f"_{undeclared.value}") is None, undeclared
    contract.method(contract.fast).unlearn(copy.deepcopy(original), request)
    assert set(request.samples_seen) == {access.value for access in contract.method.needs}


@by_name
def test_runs_on_allcnn(contract) -> None:
    small = tiny_data(num_classes=4, train_per_class=8, test_per_class=2)

    def allcnn():
        torch.manual_seed(0)
        return create_model("allcnn", small.num_classes, small.channels, small.image_size)

    model = allcnn()
    before = copy.deepcopy(model.state_dict())
    method = contract.method(contract.small or contract.fast)
    request = request_for(method, small, (1,))
    request.new_model = allcnn  # a fresh model (Bad Teacher's teacher) matches the student
    out = method.unlearn(model, request)
    changed = [n for n, p in out.named_parameters() if not torch.equal(p, before[n])]
    assert changed and all(torch.isfinite(p).all() for p in out.parameters())


@pytest.mark.parametrize(
    "contract, bad",
    [(c, bad) for c in CONTRACTS for bad in c.bad_settings],
    ids=lambda value: value.name if isinstance(value, Contract) else "-".join(map(str, *value.items())),
)
def test_out_of_bounds_settings_are_refused(contract, bad) -> None:
    (key, _), = bad.items()
    # One line naming the method and the setting ("bad l1_sparse setting: no_l1_epochs ...").
    with pytest.raises(UserError, match=rf"{contract.name}\b.*\b{key}\b"):
        apply_overrides(contract.method.Config(), bad, contract.name)


def test_every_row_names_a_distinct_method_with_its_own_config() -> None:
    names = [c.name for c in CONTRACTS]
    assert len(names) == len(set(names))
    for contract in CONTRACTS:
        for config in (contract.fast, contract.several, contract.repeat, contract.small):
            assert config is None or isinstance(config, contract.method.Config), contract.name
        assert dataclasses.is_dataclass(contract.fast)
