"""l1-sparse (methods/l1_sparse.py): the penalty's gradient, its schedule, its strength.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from benchmark.core.training import TrainRecipe
from benchmark.harness.requests import build_request
from methods.l1_sparse import L1Penalty, L1Sparse, L1SparseConfig, l1_strength
from tests.helpers import CPU, normalizer, request_for


def unlearned(original, data, forget, config: L1SparseConfig, seed: int = 0):
    method = L1Sparse(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_penalty_adds_the_gradient_of_the_l1_norm_and_detaches() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].bias[0] = 0.0  # |w| at 0: autograd's subgradient is 0, and so is the hook's
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 0, 1, 1])
    norm = torch.cat([p.flatten() for p in model.parameters()]).abs().sum()
    loss = nn.functional.cross_entropy(model(x), y) + 0.1 * norm
    expected = torch.autograd.grad(loss, list(model.parameters()))
    penalty = L1Penalty(model)
    penalty.strength = 0.1
    nn.functional.cross_entropy(model(x), y).backward()
    for param, grad in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(param.grad, grad)
    penalty.remove()
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    plain = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), list(model.parameters()))
    for param, grad in zip(model.parameters(), plain, strict=True):
        torch.testing.assert_close(param.grad, grad)


def test_unlearn_leaves_no_hook_on_the_model(data, original) -> None:
    model = unlearned(original, data, (2,), L1SparseConfig(epochs=1, alpha=10.0))
    x = torch.randn(4, 3, 8, 8)
    model.zero_grad()
    model(x).sum().backward()
    plain = torch.autograd.grad(model(x).sum(), list(model.parameters()))
    for param, grad in zip(model.parameters(), plain, strict=True):
        torch.testing.assert_close(param.grad, grad)


def test_l1_schedule_follows_the_reference() -> None:
    assert [l1_strength(1.0, e, 10, 0) for e in range(10)] == pytest.approx(
        [1.0 - e / 10 for e in range(10)])
    assert [l1_strength(1.0, e, 10, 2) for e in (0, 4, 7, 8, 9)] == pytest.approx(
        [1.0, 0.5, 1.0 / 8, 0.0, 0.0])
    assert [l1_strength(0.5, e, 3, 3) for e in range(3)] == [0.5, 0.5, 0.5]  # no decay epochs


def test_a_stronger_penalty_shrinks_the_weights_more(data, original) -> None:
    def total_l1(alpha: float) -> float:
        model = unlearned(original, data, (2,), L1SparseConfig(epochs=2, lr=0.05, alpha=alpha))
        return float(sum(p.detach().abs().sum() for p in model.parameters()))

    assert total_l1(1e-2) < 0.9 * total_l1(0.0)


def test_the_originals_augmentation_is_drawn_from_the_runs_seed(data, original) -> None:
    """With an augmenting recipe, crops and flips come from a seeded generator, not the global RNG."""
    recipe = TrainRecipe(epochs=1, batch_size=64, augment=True, crop_padding=2, flip=True)
    method = L1Sparse(L1SparseConfig(epochs=1, batch_size=32))

    def run(global_seed: int, recipe: TrainRecipe) -> dict[str, torch.Tensor]:
        torch.manual_seed(global_seed)
        request = build_request(method, data, (2,), 0, CPU, recipe, lambda: None, normalizer(data))
        return method.unlearn(copy.deepcopy(original), request).state_dict()

    first, second = run(1, recipe), run(2, recipe)
    assert all(torch.equal(first[k], second[k]) for k in first)
    plain = run(1, TrainRecipe(epochs=1, batch_size=64, augment=False))
    assert any(not torch.equal(first[k], plain[k]) for k in first)
