"""Each metric on a case whose answer is known by construction (fast, CPU only)."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.metrics import (
    accuracy,
    gold_distance,
    layer_distances,
    membership_inference,
    prediction_distribution,
    relearn_time,
    split_accuracies,
    weight_distance_summary,
)


def _assert_plain(value) -> None:
    """JSON-ready: only Python scalars, lists and dicts (no tensors, no numpy scalars)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _assert_plain(item)
    elif isinstance(value, list):
        for item in value:
            _assert_plain(item)
    else:
        assert value is None or type(value) in (bool, int, float), type(value)
    json.dumps(value)


# --- accuracy -------------------------------------------------------------------------------


def test_accuracy_on_hand_made_logits() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1, 2, 1])  # the last one is wrong
    assert accuracy(logits, labels) == 0.75
    assert accuracy(logits.numpy(), labels.numpy()) == 0.75
    assert math.isnan(accuracy(torch.empty(0, 3), torch.empty(0, dtype=torch.int64)))


def test_split_accuracies_by_forget_classes() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    labels = torch.tensor([0, 1, 2, 1])
    result = split_accuracies(logits, labels, forget_classes=[1])
    assert result == {"forget_acc": 0.5, "retain_acc": 1.0, "overall_acc": 0.75}
    _assert_plain(result)
    no_forget = split_accuracies(logits[[0, 2]], labels[[0, 2]], forget_classes=[1])
    assert math.isnan(no_forget["forget_acc"]) and no_forget["retain_acc"] == 1.0


def test_accuracy_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        accuracy(torch.zeros(3, 2), torch.zeros(2, dtype=torch.int64))


# --- weights --------------------------------------------------------------------------------


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_identical_models_have_zero_distance() -> None:
    model = _mlp()
    twin = copy.deepcopy(model)
    distances = layer_distances(model, twin)
    assert list(distances) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(d == 0.0 for d in distances.values())
    summary = weight_distance_summary(model, twin)
    assert summary["weight_distance_total"] == 0.0
    assert summary["weight_distance_normalised"] == 0.0
    _assert_plain(distances)
    _assert_plain(summary)


def test_one_shifted_parameter_shows_in_that_layer_only() -> None:
    reference = _mlp()
    model = copy.deepcopy(reference)
    with torch.no_grad():
        model[2].weight[1, 3] += 0.75  # one element: the L2 distance is |0.75|
        model[0].bias += 0.5  # all 4 elements: sqrt(4 * 0.5^2) = 1.0
    distances = layer_distances(model, reference)
    assert distances["2.weight"] == pytest.approx(0.75, rel=1e-6)
    assert distances["0.bias"] == pytest.approx(1.0, rel=1e-6)
    assert distances["0.weight"] == 0.0 and distances["2.bias"] == 0.0
    summary = weight_distance_summary(model, reference)
    assert summary["weight_distance_total"] == pytest.approx(math.sqrt(0.75**2 + 1.0), rel=1e-6)
    ref_norm = math.sqrt(
        sum(float(p.detach().double().square().sum()) for p in reference.parameters())
    )
    assert summary["weight_distance_normalised"] == pytest.approx(
        math.sqrt(0.75**2 + 1.0) / ref_norm, rel=1e-6
    )


def test_weight_distance_rejects_other_architectures() -> None:
    with pytest.raises(ValueError, match="shape"):
        layer_distances(_mlp(), nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)))
    with pytest.raises(ValueError, match="different parameters"):
        layer_distances(_mlp(), nn.Sequential(nn.Linear(3, 4)))


# --- prediction distribution ----------------------------------------------------------------


def _one_hot_logits(predicted: list[int], num_classes: int) -> torch.Tensor:
    return nn.functional.one_hot(torch.tensor(predicted), num_classes).float() * 5.0


def test_always_one_class_has_zero_entropy() -> None:
    result = prediction_distribution(_one_hot_logits([2] * 7, 4), num_classes=4)
    assert result["pred_histogram"] == [0, 0, 7, 0]
    assert result["pred_entropy"] == 0.0
    assert result["pred_entropy_normalised"] == 0.0
    assert result["pred_top_class_share"] == 1.0
    assert result["pred_kl_from_uniform"] == pytest.approx(2.0)  # log2(4) bits
    _assert_plain(result)


def test_uniform_predictions_have_full_entropy() -> None:
    num_classes = 5
    result = prediction_distribution(_one_hot_logits(list(range(5)) * 3, 5), num_classes)
    assert result["pred_histogram"] == [3] * num_classes
    assert result["pred_entropy"] == pytest.approx(math.log2(num_classes))
    assert result["pred_entropy_normalised"] == pytest.approx(1.0)
    assert result["pred_kl_from_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert result["pred_top_class_share"] == pytest.approx(0.2)


def test_retained_variant_takes_the_best_retained_class() -> None:
    # Class 0 (forgotten) always wins; the runner-up cycles over the retained classes 1..3.
    logits = torch.zeros(6, 4)
    logits[:, 0] = 10.0
    for row in range(6):
        logits[row, 1 + row % 3] = 5.0
    result = prediction_distribution(logits, num_classes=4, retain_classes=[1, 2, 3])
    assert result["pred_top_class_share"] == 1.0
    assert result["pred_retained_histogram"] == [0, 2, 2, 2]
    assert result["pred_retained_entropy_normalised"] == pytest.approx(1.0)
    assert result["pred_retained_kl_from_uniform"] == pytest.approx(0.0, abs=1e-12)
    _assert_plain(result)


def test_empty_predictions() -> None:
    result = prediction_distribution(torch.empty(0, 0), num_classes=3)
    assert result["pred_histogram"] == [0, 0, 0]
    assert math.isnan(result["pred_entropy"])


# --- gold distance --------------------------------------------------------------------------


def test_identical_logits_are_at_distance_zero() -> None:
    logits = torch.randn(20, 10, generator=torch.Generator().manual_seed(0))
    result = gold_distance(logits, logits.clone())
    assert result == {"activation_distance": 0.0, "js_divergence": 0.0}


def test_gold_distance_on_hand_made_distributions() -> None:
    inf = float("inf")
    # Disjoint one-hot outputs, (1, 0) vs (0, 1): L2 distance sqrt(2), JS exactly 1 bit.
    disjoint = gold_distance(torch.tensor([[0.0, -inf]]), torch.tensor([[-inf, 0.0]]))
    assert disjoint["activation_distance"] == pytest.approx(math.sqrt(2))
    assert disjoint["js_divergence"] == pytest.approx(1.0)
    # p = (1/2, 1/2) vs q = (3/4, 1/4), averaged with one identical row (distance 0):
    # L2 = sqrt(2 * (1/4)^2); m = (5/8, 3/8);
    # KL(p||m) = 1/2 log2(4/5) + 1/2 log2(4/3), KL(q||m) = 3/4 log2(6/5) + 1/4 log2(2/3).
    l2 = math.sqrt(2 * 0.25**2)
    kl_pm = 0.5 * math.log2(0.5 / 0.625) + 0.5 * math.log2(0.5 / 0.375)
    kl_qm = 0.75 * math.log2(0.75 / 0.625) + 0.25 * math.log2(0.25 / 0.375)
    js = (kl_pm + kl_qm) / 2  # ~0.0488 bits
    logits = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    gold = torch.tensor([[math.log(3.0), 0.0], [1.0, 2.0]])
    result = gold_distance(logits, gold)
    assert result["activation_distance"] == pytest.approx(l2 / 2)
    assert result["js_divergence"] == pytest.approx(js / 2)
    _assert_plain(result)


# --- membership inference -------------------------------------------------------------------


def _confident(n: int, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of a model that memorised its samples: a large margin on the true class."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=gen)
    logits = torch.randn(n, num_classes, generator=gen) * 0.3
    logits[torch.arange(n), labels] += 8.0
    return logits, labels


def _unsure(n: int, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits close to uniform: high entropy, high loss."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=gen)
    return torch.randn(n, num_classes, generator=gen) * 0.3, labels


def test_mia_flags_forget_samples_that_look_like_members() -> None:
    retain = _confident(800, 10, seed=1)
    test = _unsure(500, 10, seed=2)  # unequal sizes: the larger group is subsampled
    result = membership_inference(*retain, *test, *_confident(300, 10, seed=3), seed=0)
    assert result["mia_entropy_member_rate"] > 0.95
    assert result["mia_loss_member_rate"] > 0.95
    assert result["mia_entropy_attack_acc"] > 0.95
    assert result["mia_loss_attack_acc"] > 0.95
    assert result["mia_samples_per_group"] == 500
    _assert_plain(result)


def test_mia_clears_forget_samples_that_look_like_non_members() -> None:
    retain = _confident(800, 10, seed=1)
    test = _unsure(800, 10, seed=2)
    result = membership_inference(*retain, *test, *_unsure(300, 10, seed=4), max_samples=400)
    assert result["mia_entropy_member_rate"] < 0.05
    assert result["mia_loss_member_rate"] < 0.05
    assert result["mia_samples_per_group"] == 400


def test_mia_is_deterministic_and_handles_tiny_groups() -> None:
    retain, test, forget = _confident(200, 5, 1), _unsure(200, 5, 2), _unsure(50, 5, 3)
    assert membership_inference(*retain, *test, *forget, seed=3) == membership_inference(
        *retain, *test, *forget, seed=3
    )
    tiny = membership_inference(*_confident(3, 5, 1), *test, *forget)
    assert math.isnan(tiny["mia_entropy_member_rate"])


# --- relearn time ---------------------------------------------------------------------------

FORGET = 1


def _separable(n_per_class: int, seed: int) -> LabelledImages:
    """Two well-separated Gaussian blobs in 4-D, stored as float 1x2x2 'images'."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([1.5, -1.5]).repeat_interleave(n_per_class)
    x = centres.view(-1, 1) + 0.5 * torch.randn(2 * n_per_class, 4, generator=gen)
    y = torch.arange(2).repeat_interleave(n_per_class)
    return LabelledImages(x.view(-1, 1, 2, 2), y)


def _logistic(forgotten: bool) -> nn.Module:
    """A logistic regression that separates the blobs; `forgotten` zeroes class 1's weights
    and sets its bias far below, so it never predicts the forget class."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.ones(4), -torch.ones(4)]))
        model[1].bias.zero_()
        if forgotten:
            model[1].weight[FORGET].zero_()
            model[1].bias[FORGET] = -10.0
    return model


@pytest.fixture(scope="module")
def relearn_setup():
    engine = Engine.for_device("cpu")
    normalizer = Normalizer([0.0], [1.0], engine.device)  # float inputs pass through
    relearn_set = _separable(100, seed=0)  # both classes, as the harness builds it
    test = _separable(100, seed=1)
    forget_eval = test.select(test.y == FORGET)
    return engine, normalizer, relearn_set, forget_eval


def _relearn(setup, model: nn.Module, threshold: float, **kwargs) -> dict:
    engine, normalizer, relearn_set, forget_eval = setup
    kwargs.setdefault("lr", 0.1)
    kwargs.setdefault("batch_size", 32)
    return relearn_time(model, relearn_set, forget_eval, threshold, engine, normalizer, **kwargs)


def test_relearn_zero_epochs_when_threshold_already_met(relearn_setup) -> None:
    result = _relearn(relearn_setup, _logistic(forgotten=False), threshold=0.9)
    assert result["relearn_epochs"] == 0 and result["relearn_steps"] == 0
    assert result["relearned"] is True
    assert result["relearn_curve"] == [1.0] and result["relearn_curve_steps"] == [0]
    _assert_plain(result)


def test_relearn_within_cap_on_an_easy_problem(relearn_setup) -> None:
    result = _relearn(relearn_setup, _logistic(forgotten=True), threshold=0.9, max_epochs=10)
    assert result["relearn_curve"][0] == 0.0  # the forgotten model starts at zero
    assert result["relearned"] is True
    assert result["relearn_epochs"] in range(1, 11)
    assert result["relearn_steps"] == result["relearn_epochs"] * result["relearn_steps_per_epoch"]
    assert result["relearn_curve"][-1] >= 0.9
    assert all(acc < 0.9 for acc in result["relearn_curve"][:-1])
    assert result["relearn_steps_per_epoch"] == 7  # 200 samples / 32 per batch, rounded up
    _assert_plain(result)


def test_relearn_step_checks_refine_the_epoch_count(relearn_setup) -> None:
    by_epoch = _relearn(relearn_setup, _logistic(forgotten=True), threshold=0.9)
    by_step = _relearn(
        relearn_setup, _logistic(forgotten=True), threshold=0.9, evaluate_every_steps=1
    )
    assert by_step["relearn_steps"] <= by_epoch["relearn_steps"]
    per_epoch = by_step["relearn_steps_per_epoch"]
    assert by_step["relearn_epochs"] == -(-by_step["relearn_steps"] // per_epoch)
    assert by_step["relearn_curve_steps"] == list(range(by_step["relearn_steps"] + 1))


def test_relearn_never_reached_is_censored_not_the_cap(relearn_setup) -> None:
    result = _relearn(relearn_setup, _logistic(forgotten=True), threshold=1.5, max_epochs=1)
    assert result["relearned"] is False
    assert result["relearn_epochs"] is None and result["relearn_steps"] is None
    assert result["relearn_cap_epochs"] == 1 and result["relearn_threshold"] == 1.5
    assert result["relearn_curve_steps"] == [0, 7]
    _assert_plain(result)


def test_relearn_leaves_the_given_model_and_rng_untouched(relearn_setup) -> None:
    model = _logistic(forgotten=True).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng_before = torch.get_rng_state()
    first = _relearn(relearn_setup, model, threshold=0.9)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert _relearn(relearn_setup, model, threshold=0.9) == first  # same seed, same run


def test_relearn_rejects_empty_inputs(relearn_setup) -> None:
    engine, normalizer, relearn_set, _ = relearn_setup
    empty = relearn_set.select(torch.zeros(len(relearn_set), dtype=torch.bool))
    with pytest.raises(ValueError):
        relearn_time(_logistic(True), relearn_set, empty, 0.5, engine, normalizer)


def test_numpy_inputs_are_accepted() -> None:
    logits = np.eye(3) * 4.0
    assert prediction_distribution(logits, 3)["pred_histogram"] == [1, 1, 1]
    assert gold_distance(logits, logits)["js_divergence"] == 0.0


def test_zrf_is_one_for_a_random_like_model_and_lower_for_a_confident_one() -> None:
    from benchmark.metrics import zrf_score

    random_logits = torch.zeros(4, 10)  # uniform predictions
    assert zrf_score(random_logits, random_logits)["zrf"] == pytest.approx(1.0)
    confident = torch.full((4, 10), -50.0)
    confident[:, 0] = 50.0  # one-hot: JS(one-hot, uniform) in bits
    p, q = torch.eye(10)[0], torch.full((10,), 0.1)
    m = (p + q) / 2
    js = 0.5 * (p * (p / m).clamp_min(1e-30).log2()).sum() + 0.5 * (q * (q / m).log2()).sum()
    assert zrf_score(confident, random_logits)["zrf"] == pytest.approx(1 - float(js), abs=1e-6)
    assert math.isnan(zrf_score(torch.empty(0, 10), torch.empty(0, 10))["zrf"])
