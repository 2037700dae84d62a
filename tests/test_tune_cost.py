"""The cost ``tune`` says before its first trial, and ``tune --dry-run``, which says only that."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchmark.harness.estimate as estimate_module
from benchmark.cli.main import main
from benchmark.core.artifacts import ArtifactStore
from benchmark.core.named_files import tomllib
from benchmark.harness.calibration import Speed
from benchmark.harness.plan import plan_of
from benchmark.harness.spec import RunSpec
from benchmark.tuning.cost import tune_cost
from benchmark.tuning.study import TuneOptions, plan_studies, tune
from datasets import DATASETS
from datasets.validation import ValidationSplit
from reports.tuned import tuning_cost
from tests.conftest import FAST_METRICS, FAST_RECIPE
from tests.helpers import tiny_data

pytest.importorskip("optuna")  # the `tune` extra (in `dev`)


@pytest.fixture
def tiny_plan(tmp_path: Path):  # noqa: ANN201 - a Plan
    DATASETS.register("tiny-cost", lambda source: tiny_data())
    try:
        yield plan_of(RunSpec(methods=["finetune", "retrain", "neggrad"], datasets=["tiny-cost"],
                              device="cpu", results=str(tmp_path / "tuning.sqlite"),
                              cache_dir=str(tmp_path / "cache"), train=FAST_RECIPE,
                              metrics=FAST_METRICS, preset="tiny"))
    finally:
        DATASETS.unregister("tiny-cost")


def test_a_dry_run_says_what_each_method_costs_and_writes_nothing(tmp_path, capsys) -> None:
    db, cache, out = tmp_path / "t.sqlite", tmp_path / "cache", tmp_path / "out"
    assert main(["tune", "--dry-run", "--methods", "unsir,finetune", "--trials", "4",
                 "--db", str(db), "--cache-dir", str(cache), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("estimated: about ") and "for 2 methods x 4 trials" in said
    assert "original and gold models of the validation view" in said  # nothing cached yet
    assert " unsir " in said and " finetune " in said
    assert not db.exists() and not out.exists() and not (cache / "checkpoints").exists()


def test_trials_multiply_a_methods_cost_and_references_count_once(tiny_plan, monkeypatch) -> None:
    # One fixed speed instead of a calibration: the figures below must then agree exactly.
    monkeypatch.setattr(estimate_module, "calibrate", lambda plan, group: Speed(0.01, 0.001, 1.0))
    studies = plan_studies(tiny_plan, TuneOptions(split=ValidationSplit(0.2, 5)))
    assert [s.method for s in studies] == ["finetune", "neggrad"]
    one, four = tune_cost(studies, 1, None), tune_cost(studies, 4, None)
    assert four.methods_s == {name: 4 * s for name, s in one.methods_s.items()}
    alone = tune_cost(studies[:1], 1, None)
    assert one.references_s == alone.references_s > 0  # one original and gold for both methods
    assert one.seconds == pytest.approx(one.references_s + sum(one.methods_s.values()))


def test_references_cached_by_an_earlier_tune_are_not_counted(tiny_plan) -> None:
    options = TuneOptions(trials=1, split=ValidationSplit(0.2, 5), out=str(Path(tiny_plan.results).parent / "out"))
    assert tune_cost(plan_studies(tiny_plan, options), 2, None).references_s > 0
    said: list[str] = []
    [path] = tune(tiny_plan.narrowed(methods=["finetune"]), options, log=lambda _: None,
                  note=said.append)
    assert said[0].startswith("estimated: about ") and "1 method x 1 trial " in said[0]
    first = tomllib.loads(path.read_text())["search"]
    [again] = tune(tiny_plan.narrowed(methods=["finetune"]), options, log=lambda _: None,
                   note=said.append)  # a resume: its one trial is replayed from the stored row
    search = tomllib.loads(again.read_text())["search"]
    assert search["trials_s"] == first["trials_s"] > 0  # the trials' work, not the replay's
    assert tuning_cost(str(again)).startswith("1 trial in ")
    artifacts = ArtifactStore(tiny_plan.checkpoint_dir)
    cost = tune_cost(plan_studies(tiny_plan, options), 2, artifacts)
    assert cost.references_s == 0 and set(cost.methods_s) == {"finetune", "neggrad"}
    assert "validation view" not in cost.text()


def test_the_leaderboard_states_what_a_tuned_files_tuning_cost() -> None:
    said = tuning_cost("default/unsir-smallcnn-digits")  # a shipped file: 20 trials, and where
    assert said is not None and said.startswith("20 trials in ") and "torch " in said
    assert tuning_cost("no/such-file") is None  # a label of another machine: nothing to say


@pytest.mark.parametrize("forget", ["3", "samples:10%"])
def test_without_the_train_split_a_row_keeps_every_value_the_objective_reads(tiny_spec, forget) -> None:
    """``metrics.train_split=False`` (tune's) drops the two whole-training-split accuracies and
    nothing else: the other values equal a full evaluation's, on the same cached models."""
    import dataclasses

    from benchmark.harness.runner import run_grid

    tiny_spec.methods, tiny_spec.forget = ["retrain", "finetune"], [forget]
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, relearn=False, mia=False)
    full = {r["method"]: r["metrics"] for r in run_grid(plan_of(tiny_spec)).rows}
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, train_split=False)
    cut = {r["method"]: r["metrics"] for r in run_grid(plan_of(tiny_spec)).rows}
    dropped = {"retain_acc_train", "overall_acc_train"}
    for method in ("original", "retrain", "finetune"):
        assert set(full[method]) - set(cut[method]) == dropped and set(cut[method]) < set(full[method])
        values = [k for k, v in cut[method].items()  # timings aside: they differ run to run
                  if isinstance(v, float | int) and "time" not in k and "speedup" not in k]
        assert "forget_acc_train" in values and "retain_acc_test" in values
        assert {k: cut[method][k] for k in values} == pytest.approx({k: full[method][k] for k in values},
                                                                    nan_ok=True)
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, mia=True)  # the attack needs them
    with_attack = {r["method"]: r["metrics"] for r in run_grid(plan_of(tiny_spec)).rows}
    assert dropped <= set(with_attack["finetune"])


def test_typical_settings_spread_evenly_over_each_range() -> None:
    from benchmark.core.search_space import Choice, Float, Int, LogFloat
    from benchmark.tuning.cost import typical_settings

    space = {"epochs": Int(1, 8, source="test"), "lr": LogFloat(1e-4, 1e-2, source="test"),
             "fraction": Float(0.1, 0.9, source="test"), "batch": Choice((64, 256), source="test")}
    drawn = typical_settings(space, count=16)
    assert len(drawn) == 16
    assert sorted(d["epochs"] for d in drawn) == sorted(list(range(1, 9)) * 2)  # each stratum once
    assert sorted(d["batch"] for d in drawn) == [64] * 8 + [256] * 8
    rates = sorted(d["lr"] for d in drawn)
    assert 1e-4 < rates[0] < rates[-1] < 1e-2 and rates[7] < 1e-3 < rates[8]  # log-uniform: median 1e-3
    assert sum(d["fraction"] for d in drawn) / 16 == pytest.approx(0.5)
    assert typical_settings({}) == [{}]
    assert typical_settings(space, 16) == drawn  # the same draws every time


def test_a_trial_is_priced_at_the_mean_of_its_search_space(tiny_plan, monkeypatch) -> None:
    """Fine-tuning's cost is linear in its epochs: spaces centred on 3, 5 and 9 epochs price a
    trial at the cost of those means, so the differences between them are 2 and 4 epochs."""
    from benchmark.core.search_space import Int
    from methods import METHODS

    monkeypatch.setattr(estimate_module, "calibrate", lambda plan, group: Speed(0.01, 0.001, 1.0))
    studies = plan_studies(tiny_plan.narrowed(methods=["finetune"]), TuneOptions(split=ValidationSplit(0.2, 5)))

    def priced(low: int, high: int) -> float:
        monkeypatch.setattr(METHODS.get("finetune"), "search_space", {"epochs": Int(low, high, source="test")})
        return tune_cost(studies, 1, None).methods_s["finetune"]

    three, five, nine = priced(2, 4), priced(4, 6), priced(8, 10)
    assert three < five < nine
    assert nine - five == pytest.approx(2 * (five - three), rel=1e-3)  # steps are rounded up


def test_every_setting_the_cost_draws_is_one_the_method_accepts() -> None:
    """The cost applies its drawn settings as a trial would (``Plan.with_method_settings``);
    a range whose combination a Config refused would stop ``tune`` before its first trial."""
    from benchmark.core.config import apply_overrides
    from benchmark.tuning.cost import typical_settings
    from methods import METHODS, import_builtins

    import_builtins()
    spaces = {name: METHODS.get(name) for name in METHODS.names() if METHODS.get(name).search_space}
    assert len(spaces) >= 10
    for name, cls in spaces.items():
        for settings in typical_settings(cls.search_space):
            config = apply_overrides(cls.Config(), dict(settings), name)
            assert {key: getattr(config, key) for key in settings} == settings
