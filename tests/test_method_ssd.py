"""SSD (methods/ssd.py): the importance estimators, the selection rule and its bound.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from benchmark.core.scenarios import Scenario
from benchmark.core.tensors import LabelledImages
from benchmark.harness.requests import build_request
from datasets.forget_sets import ForgetSet
from methods.api import ForgetSummary
from methods.fisher_diagonal import fisher_diagonal
from methods.ssd import (
    NEAR_LIMIT_RATIO,
    PAPER_SETTING,
    SelectiveSynapticDampening,
    SsdConfig,
    _ordered_batches,
    alpha_for_ratio,
    dampen,
    minibatch_importance,
    retain_ratio_bound,
    selection_alpha,
    selection_limit,
)
from tests.helpers import CPU, RECIPE, new_model, normalizer, request_for, tiny_data


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


@pytest.mark.parametrize("forget", [ForgetSet.of_classes((2,)), ForgetSet.of_classes((0, 2)),
                                    ForgetSet(Scenario.SAMPLES, percent=10.0)],
                         ids=["one class", "two classes", "random 10 %"])
def test_importances_obey_the_bound_and_nothing_is_selected_at_one_over_f(data, original,
                                                                           forget) -> None:
    """I_D >= f I_f on SSD's own importances, so alpha >= 1/f selects no parameter (issue 22)."""
    method = SelectiveSynapticDampening(SsdConfig())
    request = build_request(method, data, forget, 0, CPU, RECIPE,
                            lambda: new_model(data, 99), normalizer(data))
    forget_importance, full_importance = method.importances(copy.deepcopy(original), request)
    f = forget.size(data) / len(data.train_y)
    for name in forget_importance:
        # f I_f <= I_D up to float rounding: the ratio I_f / I_D never exceeds 1/f.
        assert bool((f * forget_importance[name] <= full_importance[name] * (1 + 1e-5)).all()), name
    limit = selection_limit(f)
    largest = max(float((forget_importance[n] / full_importance[n]).nan_to_num(0).max())
                  for n in forget_importance)
    assert largest <= limit * (1 + 1e-5)
    for alpha in (limit * (1 + 1e-5), 2 * limit):
        selected = sum(int((forget_importance[n] > alpha * full_importance[n]).sum())
                       for n in forget_importance)
        assert selected == 0, alpha
    # Below 1/f the same importances do select (the bound is the only thing in the way here).
    assert sum(int((forget_importance[n] > 0.5 * limit * full_importance[n]).sum())
               for n in forget_importance) > 0
    # ... and applicability says "selects no parameter" exactly from 1/f up, naming it.
    summary = ForgetSummary(forget.scenario, forget.size(data), len(data.train_y), 10)
    below = SelectiveSynapticDampening(SsdConfig(selection_weighting=0.99 * limit)).applicability(summary)
    assert below is not None and "selects no parameter" not in below  # the near-limit warning
    warning = SelectiveSynapticDampening(SsdConfig(selection_weighting=limit)).applicability(summary)
    assert warning is not None and "selects no parameter" in warning and f"1/f = {limit:.4g}" in warning


def test_the_reference_estimator_is_not_warned_about() -> None:
    summary = ForgetSummary(Scenario.CLASSES, 100, 1000, 10)
    config = SsdConfig(selection_weighting=50.0, quirk_minibatch_importance=True)
    assert SelectiveSynapticDampening(config).applicability(summary) is None


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.01], ids=["class or 10 %", "two classes",
                                                            "cifar20 sub-class"])
def test_search_space_selects_in_every_leaderboard_scenario(fraction) -> None:
    """Every r the tuner can draw gives an alpha below 1/f, from the near-limit warning's edge
    to below 0.5, with the paper's share inside (issue 22)."""
    space = SelectiveSynapticDampening.search_space["max_retain_ratio"]
    assert "selection_weighting" not in SelectiveSynapticDampening.search_space  # one or the other
    highest, lowest = alpha_for_ratio(space.low, fraction), alpha_for_ratio(space.high, fraction)
    assert highest < selection_limit(fraction)  # never the dead zone at or above 1/f ...
    assert retain_ratio_bound(highest, fraction) == pytest.approx(NEAR_LIMIT_RATIO)  # ... up to its edge
    assert lowest <= 0.5
    assert space.low <= retain_ratio_bound(*PAPER_SETTING) <= space.high


def test_max_retain_ratio_sets_alpha_from_the_forget_fraction(data, original) -> None:
    """r gives alpha = 1 / (f + r (1 - f)) from the request's own f, and then unlearns exactly
    as that alpha does; r = 0 leaves selection_weighting in charge."""
    forget = (2,)
    request = request_for(SelectiveSynapticDampening(SsdConfig()), data, forget, 0)
    n_forget, n_retain = len(request.forget()), len(request.retain())
    f = n_forget / (n_forget + n_retain)
    ratio = 0.2
    alpha = alpha_for_ratio(ratio, f)
    assert retain_ratio_bound(alpha, f) == pytest.approx(ratio)
    assert selection_alpha(SsdConfig(max_retain_ratio=ratio), f) == pytest.approx(alpha)
    assert selection_alpha(SsdConfig(selection_weighting=3.0), f) == 3.0
    by_ratio = unlearned(original, data, forget, SsdConfig(max_retain_ratio=ratio,
                                                           selection_weighting=123.0))
    by_alpha = unlearned(original, data, forget, SsdConfig(selection_weighting=alpha))
    for a, b in zip(by_ratio.parameters(), by_alpha.parameters(), strict=True):
        assert torch.equal(a, b)
    changed = any(not torch.equal(a, b) for a, b in zip(by_ratio.parameters(),
                                                         original.parameters(), strict=True))
    assert changed  # r = 20 % selects something on this forget set


def test_a_ratio_never_lands_in_the_dead_zone_but_warns_near_the_limit() -> None:
    two_classes = ForgetSummary(Scenario.CLASSES, 10_000, 50_000, 10)
    assert SelectiveSynapticDampening(SsdConfig(max_retain_ratio=0.0909)) \
        .applicability(two_classes) is None  # the paper's share on two classes: alpha 3.67
    warning = SelectiveSynapticDampening(SsdConfig(max_retain_ratio=0.002)).applicability(two_classes)
    assert warning is not None and warning.startswith("max_retain_ratio=0.002 (alpha 4.96)")


def test_near_the_limit_warns_with_the_retained_share_it_allows() -> None:
    """Forget 0,2 of the leaderboard (f = 20 %): the alpha tuned on one class (4.96) passes
    1/f = 5 but allows a selected parameter 0.2 % of its forget importance on the retained
    data, and changed nothing; the paper's setting allows 9.1 % and is not warned about."""
    two_classes = ForgetSummary(Scenario.CLASSES, 10_000, 50_000, 10)
    assert retain_ratio_bound(4.96, 0.2) == pytest.approx(0.008 / 3.968)
    warning = SelectiveSynapticDampening(SsdConfig(selection_weighting=4.96)).applicability(two_classes)
    assert warning is not None and "close to its limit 1/f = 5" in warning and "0.2 %" in warning
    suggested = alpha_for_ratio(retain_ratio_bound(10.0, 0.01), 0.2)
    assert f"ssd.selection_weighting={suggested:.3g}, or ssd.max_retain_ratio=0.091" in warning
    assert retain_ratio_bound(suggested, 0.2) == pytest.approx(retain_ratio_bound(10.0, 0.01))
    assert SelectiveSynapticDampening(SsdConfig(selection_weighting=suggested)) \
        .applicability(two_classes) is None
    paper = ForgetSummary(Scenario.CLASSES, 500, 50_000, 100)
    assert SelectiveSynapticDampening(SsdConfig()).applicability(paper) is None
    assert retain_ratio_bound(10.0, 0.01) == pytest.approx(0.9 / 9.9)
