"""SalUn: forgetting end to end, the saliency mask, masked updates and the random labels."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from benchmark.core.config import apply_overrides
from benchmark.core.errors import DataAccessError, UserError
from benchmark.core.tensors import LabelledImages
from benchmark.models import create_model
from methods.salun import Salun, SalunConfig, random_labels, saliency_mask
from tests.helpers import CPU, accuracy_on, normalizer, request_for, tiny_data, trained_model

FAST = SalunConfig(epochs=3, batch_size=32, lr=0.05)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def original(data):
    return trained_model(data)


def unlearned(original, data, forget, config=FAST, seed=0):
    method = Salun(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def retained(forget):
    return tuple(c for c in range(10) if c not in forget)


def test_salun_forgets_the_class_and_keeps_the_rest(data, original) -> None:
    assert accuracy_on(original, data, (2,)) > 0.9
    model = unlearned(original, data, (2,))
    assert accuracy_on(model, data, (2,)) < 0.2  # measured 0.0
    assert accuracy_on(model, data, retained((2,))) > 0.9  # measured 1.0; chance is 0.1


def test_salun_forgets_several_classes_at_once_in_either_order(data, original) -> None:
    for order in ("forget_then_retain", "mixed"):
        config = SalunConfig(epochs=3, batch_size=32, lr=0.05, order=order)
        model = unlearned(original, data, (1, 4), config)
        assert accuracy_on(model, data, (1,)) < 0.2 and accuracy_on(model, data, (4,)) < 0.2
        assert accuracy_on(model, data, retained((1, 4))) > 0.9  # measured 1.0 for both


def test_salun_is_deterministic_for_a_seed(data, original) -> None:
    once = SalunConfig(epochs=1, batch_size=32, lr=0.05)
    first = unlearned(original, data, (2,), once).state_dict()
    second = unlearned(original, data, (2,), once).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = unlearned(original, data, (2,), once, seed=1).state_dict()  # other labels and order
    assert any(not torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("dropped", sorted(Salun.needs, key=str))
def test_salun_uses_only_its_declared_data(data, original, dropped) -> None:
    class Lacking(Salun):
        needs = Salun.needs - {dropped}

    with pytest.raises(DataAccessError, match=dropped.value):
        Salun(FAST).unlearn(copy.deepcopy(original), request_for(Lacking, data, (2,)))


def test_salun_runs_on_another_architecture() -> None:
    small = tiny_data(num_classes=4, train_per_class=8, test_per_class=2)
    torch.manual_seed(0)
    model = create_model("allcnn", 4, 3, 8)
    method = Salun(SalunConfig(epochs=1, batch_size=16))
    out = method.unlearn(model, request_for(method, small, (1,)))
    assert all(torch.isfinite(p).all() for p in out.parameters())


def test_salun_refuses_out_of_bounds_settings() -> None:
    for bad in ({"lr": -1}, {"mask_fraction": 0}, {"mask_fraction": 1.5}, {"epochs": -1},
                {"order": "random"}):
        with pytest.raises(UserError):
            apply_overrides(SalunConfig(), bad, "salun")


def test_mask_keeps_the_largest_forget_gradients(data, original) -> None:
    forget = LabelledImages(data.train_x[data.train_y == 2], data.train_y[data.train_y == 2])
    model = copy.deepcopy(original)
    mask = saliency_mask(model, forget, CPU, normalizer(data), 0.3, batch_size=16)
    params = dict(model.named_parameters())
    x = normalizer(data)(forget.x)
    loss = nn.functional.cross_entropy(model.eval()(x), forget.y)
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values())), strict=True))
    scores = torch.cat([grads[n].abs().flatten() for n in mask])
    chosen = torch.cat([mask[n].flatten() for n in mask])
    assert int(chosen.sum()) == int(scores.numel() * 0.3)
    assert scores[chosen].min() >= scores[~chosen].max() * (1 - 1e-4)  # up to float sums
    assert set(mask) == {n for n, p in params.items() if p.requires_grad}


def test_only_salient_weights_change(data, original) -> None:
    forget = LabelledImages(data.train_x[data.train_y == 2], data.train_y[data.train_y == 2])
    config = SalunConfig(epochs=2, batch_size=32, lr=0.05, mask_fraction=0.2)
    mask = saliency_mask(copy.deepcopy(original), forget, CPU, normalizer(data), 0.2, 32)
    model = unlearned(original, data, (2,), config)
    before, after = dict(original.named_parameters()), dict(model.named_parameters())
    moved = 0
    for name, keep in mask.items():
        assert torch.equal(after[name][~keep], before[name][~keep]), name
        moved += int((after[name][keep] != before[name][keep]).sum())
    assert moved > 0


def test_random_labels_are_wrong_unless_the_reference_quirk_is_on() -> None:
    labels = torch.arange(10).repeat(100)
    wrong = random_labels(labels, 10, torch.Generator().manual_seed(0), any_label=False)
    assert not bool((wrong == labels).any())
    assert set(wrong.tolist()) == set(range(10))
    anything = random_labels(labels, 10, torch.Generator().manual_seed(0), any_label=True)
    assert bool((anything == labels).any())  # randint(0, C) keeps the true label 1/C of the time
