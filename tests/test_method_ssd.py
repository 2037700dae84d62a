"""SSD (methods/ssd.py): the importance estimators, the selection rule and its bound.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from benchmark.core.tensors import LabelledImages
from methods.fisher_diagonal import fisher_diagonal
from methods.ssd import (
    SelectiveSynapticDampening,
    SsdConfig,
    _ordered_batches,
    dampen,
    minibatch_importance,
)
from tests.helpers import CPU, normalizer, request_for, tiny_data


def unlearned(original, data, forget, config: SsdConfig, seed: int = 0):
    method = SelectiveSynapticDampening(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_no_parameter_is_selected_unless_alpha_is_below_the_size_ratio(data, original) -> None:
    """I_D >= (|D_f| / |D|) I_f, so alpha >= |D| / |D_f| (here 10) can select nothing."""
    before = original.state_dict()
    inert = unlearned(original, data, (2,), SsdConfig(selection_weighting=10.0 * (1 + 1e-5)))
    assert all(torch.equal(before[k], v) for k, v in inert.state_dict().items())
    active = unlearned(original, data, (2,), SsdConfig(selection_weighting=9.0))
    assert any(not torch.equal(before[k], v) for k, v in active.state_dict().items())


def test_empirical_fisher_is_the_mean_squared_per_sample_gradient(data, original) -> None:
    subset = LabelledImages(data.train_x[:12], data.train_y[:12])
    model = copy.deepcopy(original).eval()
    got = fisher_diagonal(model, subset, normalizer(data), "cpu", batch_size=5,
                          approximation="empirical")
    params = dict(model.named_parameters())
    expected = {name: torch.zeros_like(p) for name, p in params.items()}
    for i in range(len(subset)):
        x = normalizer(data)(subset.x[i : i + 1])
        loss = nn.functional.cross_entropy(model(x), subset.y[i : i + 1])
        grads = torch.autograd.grad(loss, list(params.values()))
        for name, grad in zip(params, grads, strict=True):
            expected[name] += grad.square() / len(subset)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-9)


def test_reference_minibatch_importance_at_batch_one_is_the_empirical_fisher(data, original) -> None:
    small = tiny_data(train_per_class=10)  # same classes, fewer samples: 100 batches of one
    method = SelectiveSynapticDampening(SsdConfig(quirk_minibatch_importance=True,
                                                  quirk_batch_size=1))
    quirk_forget, quirk_full = method.importances(original, request_for(method, small, (2,)))
    ours = SelectiveSynapticDampening(SsdConfig())
    forget, full = ours.importances(original, request_for(ours, small, (2,)))
    for name in forget:
        torch.testing.assert_close(quirk_forget[name], forget[name], rtol=1e-3, atol=1e-10)
        torch.testing.assert_close(quirk_full[name], full[name], rtol=1e-3, atol=1e-10)
    # With the reference's 64-sample batches the estimate differs (gradients cancel in a batch).
    batched, _ = SelectiveSynapticDampening(SsdConfig(quirk_minibatch_importance=True)) \
        .importances(original, request_for(method, small, (2,)))
    assert any(not torch.allclose(batched[n], forget[n], rtol=1e-2) for n in forget)


def test_reference_batches_run_across_the_retain_forget_seam() -> None:
    retain = LabelledImages(torch.arange(5).view(5, 1, 1, 1), torch.zeros(5, dtype=torch.long))
    forget = LabelledImages(torch.arange(5, 9).view(4, 1, 1, 1), torch.ones(4, dtype=torch.long))
    batches = [(x.flatten().tolist(), y.tolist()) for x, y in _ordered_batches([retain, forget], 3)]
    assert batches == [([0, 1, 2], [0, 0, 0]), ([3, 4, 5], [0, 0, 1]), ([6, 7, 8], [1, 1, 1])]


def test_importance_passes_leave_the_model_as_it_was(data, original) -> None:
    model = copy.deepcopy(original).train()
    for param in model.parameters():
        param.grad = None
    before = copy.deepcopy(model.state_dict())
    subset = LabelledImages(data.train_x[:20], data.train_y[:20])
    minibatch_importance(model, [subset], normalizer(data), CPU, 8)
    fisher_diagonal(model, subset, normalizer(data), "cpu", approximation="empirical")
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_dampening_rule() -> None:
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
    forget = {"weight": torch.tensor([[10.0, 30.0], [0.0, 2.0]])}
    full = {"weight": torch.tensor([[1.0, 2.0], [0.0, 1.0]])}
    dampen(layer, forget, full, selection_weighting=5.0, dampening_constant=1.0)
    # selected where I_f > 5 I_D: (0,0) with beta 1/10 and (0,1) with 2/30; 0/0 is not selected
    expected = torch.tensor([[0.1, 2.0 / 30.0], [1.0, 1.0]])
    torch.testing.assert_close(layer.weight.detach(), expected)
    dampen(layer, forget, full, selection_weighting=5.0, dampening_constant=100.0)
    torch.testing.assert_close(layer.weight.detach(), expected)  # beta capped at 1
