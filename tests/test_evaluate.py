"""The evaluator's reuse of the original's logits changes no metric and saves the passes."""

from __future__ import annotations

import copy
from unittest import mock

import torch

from benchmark.core import training
from benchmark.harness import evaluate as evaluate_module
from benchmark.harness.evaluate import Evaluator, OriginalLogits
from benchmark.harness.grid import Group, GroupContext
from benchmark.harness.options import MetricOptions
from benchmark.harness.plan import plan_of
from benchmark.harness.progress import Reporter
from benchmark.harness.spec import RunSpec
from tests.helpers import CPU, normalizer, tiny_data, trained_model

OPTIONS = MetricOptions(relearn_max_epochs=2)


def _evaluator(data, forget, original, gold, logits=None) -> Evaluator:
    """An evaluator within a group of smallcnn on ``data``, seed 0 (what a run hands it)."""
    plan = plan_of(RunSpec(methods=["retrain"], datasets=["synthetic"], device="cpu",
                           metrics=OPTIONS))
    group = Group("smallcnn", "synthetic", 0, data, [], [])
    ctx = GroupContext(plan, group, None, group.factory,  # type: ignore[arg-type]
                       normalizer(data), Reporter.silent())
    return Evaluator(ctx, forget, original, gold, logits)


def test_shared_original_logits_change_no_metric() -> None:
    data = tiny_data()
    original, gold = trained_model(data, seed=0), trained_model(data, seed=1)
    fresh = _evaluator(data, (1,), original, gold)
    shared = _evaluator(data, (1,), original, gold,
                        OriginalLogits.of(original, data, CPU, normalizer(data)))
    # The original's own row takes the cached logits; a copy of it is an unrelated model
    # to the evaluator, so it is evaluated from scratch: the two must agree exactly.
    assert shared.evaluate(original) == fresh.evaluate(copy.deepcopy(original))
    assert shared.evaluate(gold) == fresh.evaluate(gold)


def test_original_logits_are_computed_once_for_all_forget_sets() -> None:
    data = tiny_data()
    original, gold = trained_model(data, seed=0), trained_model(data, seed=1)
    calls: list[int] = []
    real = training.predict_logits

    def counting(model, x, engine, norm):
        if model is original:
            calls.append(x.shape[0])
        return real(model, x, engine, norm)

    with mock.patch.object(evaluate_module, "predict_logits", counting):
        first = _evaluator(data, (1,), original, gold)
        second = _evaluator(data, (2, 3), original, gold, first.original_logits)
        for evaluator in (first, second):
            evaluator.evaluate(original)
    # One pass over the train split and one over the test split, whatever the forget sets.
    assert sorted(calls) == sorted([data.train_x.shape[0], data.test_x.shape[0]])
    assert torch.equal(second.original_logits.test, first.original_logits.test)
