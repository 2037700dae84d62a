"""The three forgetting scenarios: parsing, masks, and whole runs with skipped methods."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from benchmark.core.errors import UserError
from benchmark.core.scenarios import Scenario
from benchmark.harness.dry_run import dry_run_lines
from benchmark.harness.estimate import estimate
from benchmark.harness.grid import expand
from benchmark.harness.plan import plan_of
from benchmark.harness.runner import run
from datasets import load_dataset
from datasets.forget_sets import ForgetSet, parse_forget_sets
from tests.test_warnings import Warned


@pytest.fixture(scope="module")
def coarse():
    return load_dataset("synthetic_coarse")


def test_class_forget_sets_keep_their_labels(coarse) -> None:
    assert [f.label for f in parse_forget_sets("0,2", coarse)] == ["0,2"]
    assert [f.label for f in parse_forget_sets("each", coarse)] == ["0", "1", "2", "3", "4"]
    assert parse_forget_sets("3", coarse)[0] == ForgetSet.of_classes((3,))


def test_a_subclass_is_its_fine_class_inside_a_kept_superclass(coarse) -> None:
    forget = parse_forget_sets("subclass:class3", coarse)[0]
    assert (forget.scenario, forget.classes, forget.label) == (Scenario.SUBCLASS, (1,), "subclass:class3")
    assert forget.forget_classes == ()  # no whole class is forgotten: group1 stays
    train, test = forget.masks(coarse)
    assert torch.equal(train, coarse.train_fine_y == 3) and torch.equal(test, coarse.test_fine_y == 3)
    assert set(coarse.train_y[train].tolist()) == {1}


def test_random_samples_are_a_seeded_fraction_of_the_training_set(coarse) -> None:
    forget = parse_forget_sets("samples:10%", coarse)[0]
    train, test = forget.masks(coarse)
    assert int(train.sum()) == round(0.1 * len(coarse.train_y)) and not test.any()
    assert torch.equal(train, forget.masks(coarse)[0])  # the same draw every time
    other = parse_forget_sets("samples:10%:7", coarse)[0]
    assert other.label == "samples:10%:7" and not torch.equal(other.masks(coarse)[0], train)


@pytest.mark.parametrize("text, message", [
    ("subclass:class3", "has no fine labels"),
    ("samples:0%", "above 0 and below 100"),
    ("samples:10", "use samples:10%"),
])
def test_bad_scenarios_on_plain_data(text, message) -> None:
    with pytest.raises(UserError, match=message):
        parse_forget_sets(text, load_dataset("synthetic"))


def test_unknown_subclass_names_the_known_ones(coarse) -> None:
    with pytest.raises(UserError, match="no fine class 'baby'.*known: class0"):
        parse_forget_sets("subclass:baby", coarse)


def test_random_samples_run_and_class_only_methods_are_skipped(tiny_spec) -> None:
    tiny_spec.methods = ["unsir", "finetune"]
    tiny_spec.forget = ["samples:10%"]
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert rows["unsir"]["status"] == "skipped" and "defined for: classes" in rows["unsir"]["error"]
    for method in ("original", "retrain", "finetune"):
        row = rows[method]
        assert row["status"] == "ok" and row["scenario"] == "samples" and row["forget"] == "samples:10%"
        forget_test = row["metrics"]["forget_acc_test"]
        assert row["n_forget"] == 60 and forget_test != forget_test  # NaN: no test sample forgotten
        assert 0 <= row["metrics"]["forget_acc_train"] <= 1 and "relearned" not in row["metrics"]
    # The gold model never saw the forgotten samples; the original trained on them.
    assert rows["retrain"]["timings"]["samples_seen"]["retain"] == 540
    assert rows["original"]["metrics"]["forget_acc_train"] >= rows["retrain"]["metrics"]["forget_acc_train"]


def test_methods_not_defined_for_the_scenario_cost_nothing(tiny_spec) -> None:
    # The estimate once priced UNSIR and Fisher on random samples (18 min of a CIFAR-20 cell's
    # 2.2 h) although the harness only writes their skipped rows.
    tiny_spec.methods = ["unsir", "fisher", "finetune"]
    tiny_spec.forget = ["samples:10%"]
    plan = plan_of(tiny_spec)
    cost = estimate(plan, expand(plan))
    assert (cost.todo, cost.undefined) == (5, 2) and "finetune" in cost.parts
    assert not {"unsir", "fisher"} & set(cost.parts)
    assert cost.text().endswith("; 2 of a method not defined for its scenario, stored as skipped)")
    lines = dry_run_lines(plan)
    assert "unsir (not defined for samples: a skipped row)" in lines[-2]
    assert lines[-1].startswith("5 cells: 3 to measure, 0 already stored, 2 skipped (method not "
                                "defined for the scenario); 2 reference model(s) to train")
    # A later run left with only those cells writes their rows and trains nothing, not even
    # the references it would need for a measured cell (the cache is emptied to tell).
    tiny_spec.methods = ["finetune"]
    run(tiny_spec)
    shutil.rmtree(tiny_spec.cache_dir)
    tiny_spec.methods = ["unsir", "fisher", "finetune"]
    reporter = Warned()
    rows = {row["method"]: row for row in run(tiny_spec, reporter)}
    assert "nothing to train: the 2 cells left are of a method not defined for its scenario, " \
           "stored as skipped" in reporter.notes
    assert rows["unsir"]["status"] == rows["fisher"]["status"] == "skipped"
    assert rows["finetune"]["status"] == "ok"
    assert not list(Path(tiny_spec.cache_dir).rglob("*.pt"))


def test_a_subclass_runs_on_data_with_superclasses(tiny_spec) -> None:
    tiny_spec.methods = ["finetune"]
    tiny_spec.datasets = ["synthetic_coarse"]
    tiny_spec.forget = ["subclass:class3"]
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert {row["scenario"] for row in rows.values()} == {"subclass"}
    assert rows["retrain"]["timings"]["samples_seen"]["retain"] == 540  # all but class3's 60
    assert rows["original"]["metrics"]["forget_acc_test"] > 0.5
