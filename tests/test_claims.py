"""``check``: the claims file format, evaluation on hand-made results, and the command."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmark.__main__ import main
from benchmark.claims import load_claims, parse_claims, plan_for_run
from benchmark.claims.evaluate import FAIL, NO_DATA, PASS, evaluate_claim
from benchmark.core.errors import UserError
from benchmark.harness.runner import run
from benchmark.harness.spec import RunSpec
from benchmark.harness.store import ResultStore


def _claim(**entry: Any):
    """One parsed claim from keyword arguments (name, op, value defaulted)."""
    table = {"name": "c", "metric": "forget_acc_test", "op": "<=", "value": 0.1} | entry
    return parse_claims({"claim": [table]}).claims[0]


def _frame() -> pd.DataFrame:
    """Two seeds of one cell with original, retrain, unsir and fisher rows."""
    rows = []
    values = {  # method: (forget acc, retain acc, time) for seed 0 and seed 1
        "original": [(0.98, 0.99, 10.0), (0.97, 0.98, 12.0)],
        "retrain": [(0.0, 0.97, 8.0), (0.0, 0.99, 9.0)],
        "unsir": [(0.0, 0.90, 1.0), (0.04, 0.86, 1.5)],
        "fisher": [(0.01, 0.70, 20.0), (0.02, 0.60, 30.0)],
    }
    for method, per_seed in values.items():
        for seed, (forget, retain, seconds) in enumerate(per_seed):
            rows.append({"method": method, "model": "smallcnn", "dataset": "digits", "forget": "3",
                         "n_forget": 1, "seed": seed, "device": "cpu",
                         "zero_glance": method != "original", "forget_acc_test": forget,
                         "retain_acc_test": retain, "time_s": seconds,
                         "pred_histogram": [0, 1]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("table, message", [
    ({"claims": []}, "unknown key 'claims'"),
    ({"claim": []}, "no [[claim]] entries"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">="}]}, "missing value"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": "=>", "value": 1}]}, "unknown op '=>'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": "1"}]}, "value must be a number"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1, "agg": "mean"}]},
     "unknown key 'agg'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1, "aggregate": "avg"}]},
     "unknown aggregate 'avg'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1, "where": {"lr": 1}}]},
     "cannot filter on lr"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1,
                 "where": {"method": "unsirr"}}]}, "unknown method 'unsirr'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1,
                 "relative_to": {"method": "retrain", "form": "quotient"}}]},
     "unknown relative_to form 'quotient'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1,
                 "relative_to": {"method": "retrain", "offset": -1}}]}, "unknown key 'offset'"),
    ({"claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1}] * 2}, "duplicate claim names"),
    ({"run": {"seeds": [0]}, "claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1}]},
     "[run] needs preset"),
])
def test_invalid_claims_are_one_line_user_errors(table, message) -> None:
    with pytest.raises(UserError) as error:
        parse_claims(table, "t")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_shipped_claimsets_parse() -> None:
    default = load_claims("default")
    paper = load_claims("paper")
    assert default.run["preset"] == "default" and paper.run["preset"] == "paper-cifar10"
    assert all(c.where["preset"] == ["paper-cifar10"] for c in paper.claims)  # top-level where
    fisher = next(c for c in paper.claims if c.relative_to and c.relative_to.method == "fisher")
    assert fisher.relative_to.form == "inverse_ratio" and fisher.metric == "time_s"


def test_unknown_claims_name_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown claims 'nope'; known: .*default"):
        load_claims("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[claim]\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_claims(str(bad))


def test_run_table_overrides_the_preset_and_keeps_its_own_results() -> None:
    claimset = parse_claims({"run": {"preset": "default", "seeds": [4, 5], "train": {"epochs": 2}},
                             "claim": [{"name": "a", "metric": "time_s", "op": ">=", "value": 1}]})
    plan = plan_for_run(claimset, device="cpu")
    recipe = plan.recipe("smallcnn", "digits")
    assert plan.seeds == (4, 5) and recipe.epochs == 2 and plan.engine.device.type == "cpu"
    assert recipe.batch_size == 64  # merged into the preset's [train], not replacing it
    assert plan.results == "results/claims.sqlite"


# ----------------------------------------------------------------------------- evaluation
def test_plain_claim_passes_and_fails_with_mean_n_and_spread() -> None:
    frame = _frame()
    result = evaluate_claim(_claim(where={"method": "unsir"}, value=0.05), frame)
    assert result.verdict == PASS and result.n == 2
    assert result.measured == pytest.approx(0.02) and (result.low, result.high) == (0.0, 0.04)
    assert evaluate_claim(_claim(where={"method": "unsir"}, value=0.01), frame).verdict == FAIL


@pytest.mark.parametrize("aggregate, measured, verdict", [
    ("mean", 0.02, PASS), ("median", 0.02, PASS), ("min", 0.0, PASS), ("max", 0.04, FAIL),
    ("all", 0.04, FAIL),  # the worst row decides and is shown
])
def test_aggregations(aggregate, measured, verdict) -> None:
    claim = _claim(where={"method": "unsir"}, value=0.03, aggregate=aggregate)
    result = evaluate_claim(claim, _frame())
    assert result.verdict == verdict and result.measured == pytest.approx(measured)


def test_relative_to_difference_pairs_rows_of_the_same_cell() -> None:
    # unsir - retrain retain accuracy: seed 0: 0.90-0.97 = -0.07, seed 1: 0.86-0.99 = -0.13
    claim = _claim(where={"method": "unsir"}, metric="retain_acc_test", op=">=", value=-0.08,
                   relative_to={"method": "retrain"}, aggregate="all")
    result = evaluate_claim(claim, _frame())
    assert result.verdict == FAIL and result.measured == pytest.approx(-0.13)
    mean = evaluate_claim(dataclasses.replace(claim, aggregate="mean", value=-0.11), _frame())
    assert mean.verdict == PASS and mean.measured == pytest.approx(-0.10)
    assert claim.quantity() == "all retain_acc_test: unsir - retrain"


def test_ratio_and_inverse_ratio() -> None:
    # fisher / unsir time: seed 0: 20/1 = 20, seed 1: 30/1.5 = 20
    faster = _claim(where={"method": "unsir"}, metric="time_s", op=">=", value=15,
                    relative_to={"method": "fisher", "form": "inverse_ratio"})
    result = evaluate_claim(faster, _frame())
    assert result.verdict == PASS and result.measured == pytest.approx(20.0)
    ratio = _claim(where={"method": "unsir"}, metric="time_s", op="<=", value=0.06,
                   relative_to={"method": "fisher", "form": "ratio"})
    assert evaluate_claim(ratio, _frame()).measured == pytest.approx(0.05)
    # A reference metric other than the claim's own: unsir retain acc / original forget acc.
    other = _claim(where={"method": "unsir"}, metric="retain_acc_test", op=">", value=0,
                   relative_to={"method": "original", "form": "ratio", "metric": "forget_acc_test"})
    assert evaluate_claim(other, _frame()).measured == pytest.approx((0.90 / 0.98 + 0.86 / 0.97) / 2)


def test_no_data_cases_and_dropped_rows() -> None:
    frame = _frame()
    nothing = evaluate_claim(_claim(where={"method": "finetune"}), frame)
    assert nothing.verdict == NO_DATA and "no rows match method=finetune" in nothing.why
    assert evaluate_claim(_claim(), frame.iloc[0:0]).verdict == NO_DATA
    empty = frame.assign(forget_acc_test=math.nan)
    assert evaluate_claim(_claim(where={"method": "unsir"}), empty).verdict == NO_DATA
    # Seed 1 has no retrain row: it is left out of the comparison and said so.
    partial = frame[~((frame["method"] == "retrain") & (frame["seed"] == 1))]
    claim = _claim(where={"method": "unsir"}, metric="retain_acc_test", op=">=", value=-0.08,
                   relative_to={"method": "retrain"})
    result = evaluate_claim(claim, partial)
    assert result.verdict == PASS and result.n == 1 and "1 of 2" in result.why
    no_reference = frame[frame["method"] != "retrain"]
    assert evaluate_claim(claim, no_reference).verdict == NO_DATA


def test_where_matches_text_lists_and_booleans() -> None:
    frame = _frame()
    assert evaluate_claim(_claim(where={"method": ["unsir", "fisher"], "forget": 3}), frame).n == 4
    assert evaluate_claim(_claim(where={"zero_glance": False}), frame).n == 2
    assert evaluate_claim(_claim(where={"seed": 1, "method": "unsir"}), frame).measured == 0.04


def test_preset_filter_reads_the_spec_and_references_pair_across_presets() -> None:
    frame = _frame()
    frame["spec"] = [{"preset": "default"}] * len(frame)
    # An UNSIR row of a second preset for seed 0 (its original/retrain rows are shared).
    other = frame[(frame["method"] == "unsir") & (frame["seed"] == 0)].assign(
        retain_acc_test=0.5, spec=[{"preset": "quirks"}])
    frame = pd.concat([frame, other], ignore_index=True)
    claim = _claim(where={"method": "unsir", "preset": "quirks"}, metric="retain_acc_test",
                   op=">=", value=-0.5, relative_to={"method": "retrain"})
    result = evaluate_claim(claim, frame)
    assert result.n == 1 and result.measured == pytest.approx(0.5 - 0.97)
    both = evaluate_claim(dataclasses.replace(claim, where={"method": ["unsir"]}), frame)
    assert both.n == 3


def test_unknown_or_non_numeric_metric_is_refused_when_the_claims_are_read() -> None:
    with pytest.raises(UserError, match="unknown metric 'forget_acc'; claims can use: .*forget_acc_test"):
        _claim(metric="forget_acc")
    with pytest.raises(UserError, match="unknown metric 'pred_histogram'"):  # a list, not a number
        _claim(metric="pred_histogram")
    with pytest.raises(UserError, match="relative_to: unknown metric 'nope'"):
        _claim(relative_to={"method": "retrain", "metric": "nope"})
    assert _claim(metric="time_unlearn_s").metric == "time_unlearn_s"  # a timing, by its column


# ----------------------------------------------------------------------------- command
def _write_claims(path: Path, claims: list[dict[str, Any]], run: dict[str, Any] | None = None) -> str:
    """A claims TOML file; values are written as JSON, which TOML reads the same way here."""
    lines = ['description = "test"']
    if run:
        lines.append("[run]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in run.items()]
    for claim in claims:
        lines.append("[[claim]]")
        for key, value in claim.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _preset_from(spec: RunSpec, path: Path) -> str:
    """A preset file that reproduces ``spec`` exactly (so its cells have the same ids)."""
    lines = [f"{k} = {json.dumps(getattr(spec, k))}" for k in
             ("methods", "models", "datasets", "forget", "seeds", "device", "cache_dir")]
    sections = {"train": dataclasses.asdict(spec.train), "metrics": dataclasses.asdict(spec.metrics)}
    sections |= {f"methods_config.{m}": v for m, v in spec.method_settings.items()}
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


PASSING = [
    {"name": "unsir forgets", "where": {"method": "unsir"}, "metric": "forget_acc_test",
     "op": "<=", "value": 0.5},
    {"name": "original learnt", "where": {"method": "original"}, "metric": "test_acc",
     "op": ">=", "value": 0.5},
    {"name": "retrain is its own reference", "where": {"method": "retrain"},
     "metric": "speedup_vs_retrain", "op": "==", "value": 1, "aggregate": "all"},
]
FAILING = PASSING + [{"name": "impossible", "where": {"method": "unsir"},
                      "metric": "test_acc", "op": ">", "value": 1}]


def test_check_command_exit_codes_on_a_tiny_database(tiny_spec, tmp_path: Path, capsys) -> None:
    run(tiny_spec)
    db = tiny_spec.results
    good = _write_claims(tmp_path / "good.toml", PASSING)
    bad = _write_claims(tmp_path / "bad.toml", FAILING)
    assert main(["check", "--claims", good, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "3/3 claims pass" in out and "PASS" in out
    assert main(["check", "--claims", bad, "--db", db]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "3/4 claims pass, 1 fail" in out

    # Without --db the [run] table runs; cells already stored are reused, none re-measured.
    preset = _preset_from(tiny_spec, tmp_path / "tiny.toml")
    with ResultStore(db) as store:
        before = {r["row_id"]: r["created_at"] for r in store.rows()}
    runs = _write_claims(tmp_path / "run.toml", PASSING, {"preset": preset, "results": db})
    assert main(["check", "--claims", runs]) == 0
    with ResultStore(db) as store:
        assert {r["row_id"]: r["created_at"] for r in store.rows()} == before


def test_missing_preset_and_missing_db_are_one_line_errors(tmp_path: Path, capsys) -> None:
    claims = _write_claims(tmp_path / "c.toml", PASSING[:1], {"preset": "paper-nowhere"})
    assert main(["check", "--claims", claims]) == 2
    error = capsys.readouterr().err.strip()
    assert "need preset 'paper-nowhere', which is missing" in error and "\n" not in error
    only_unsir = _write_claims(tmp_path / "u.toml", FAILING[:1] + [
        {"name": "f", "where": {"method": "fisher"}, "metric": "time_s", "op": ">", "value": 0}],
        {"preset": "default", "methods": ["unsir"], "results": str(tmp_path / "r.sqlite")})
    assert main(["check", "--claims", only_unsir]) == 2
    assert "use fisher, which [run] does not run" in capsys.readouterr().err
    no_run = _write_claims(tmp_path / "d.toml", PASSING[:1])
    assert main(["check", "--claims", no_run]) == 2
    assert "has no [run] table; pass --db" in capsys.readouterr().err
    assert main(["check", "--claims", no_run, "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no results database" in capsys.readouterr().err


def test_no_data_fails_the_check(tmp_path: Path, capsys) -> None:
    # An empty database: every claim has no data, and that is a failure, not a pass.
    ResultStore(tmp_path / "empty.sqlite").close()
    claims = _write_claims(tmp_path / "c.toml", PASSING[:1])
    assert main(["check", "--claims", claims, "--db", str(tmp_path / "empty.sqlite")]) == 1
    assert "NO DATA" in capsys.readouterr().out
