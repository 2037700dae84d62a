"""``python -m benchmark leaderboard`` (issue 22): its tables against numbers computed straight
from the database, the ranking rule, default and tuned entries, claims and bad input."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from scipy import stats

from benchmark.claims import evaluate_claims
from benchmark.claims.schema import parse_claims
from benchmark.cli.main import main
from benchmark.harness.options import MetricOptions
from benchmark.harness.runner import run
from benchmark.harness.spec import RunSpec
from benchmark.harness.store import ResultStore, load_dataframe
from methods import METHODS, import_builtins
from reports.leaderboard import DEFAULT, REFERENCE, SCORE, TUNED, Entry, Stat, rank
from tests.conftest import FAST_RECIPE

SEEDS = [0, 1]
FORGET = ["3", "0,2", "samples:10%"]
TUNED_FILES = {"finetune": "test/finetune-smallcnn-synthetic",
               "ssd": "test/ssd-smallcnn-synthetic"}


def _spec(results: Path, cache: Path, methods: list[str], settings: dict, tuned: dict) -> RunSpec:
    return RunSpec(methods=methods, models=["smallcnn"], datasets=["synthetic"], forget=FORGET,
                   seeds=SEEDS, device="cpu", results=str(results), cache_dir=str(cache),
                   train=FAST_RECIPE, metrics=MetricOptions(relearn=False),
                   method_settings=settings, tuned=tuned)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """Two seeds, a whole class and random samples; fine-tune and SSD at default and tuned
    settings, UNSIR at its defaults only (classes only: skipped on random samples)."""
    folder = tmp_path_factory.mktemp("leaderboard")
    results, cache = folder / "results.sqlite", folder / "cache"
    unsir = {"noise_batch": 8, "noise_steps": 2, "noise_copies": 2, "batch_size": 64}
    run(_spec(results, cache, ["finetune", "ssd", "unsir"],
              {"finetune": {"epochs": 1, "lr": 0.001}, "ssd": {"selection_weighting": 5.0},
               "unsir": unsir}, {}))
    run(_spec(results, cache, ["finetune", "ssd"],
              {"finetune": {"epochs": 2, "lr": 0.05}, "ssd": {"selection_weighting": 2.0}},
              TUNED_FILES))
    return results


@pytest.fixture(scope="module")
def board_dir(db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board") / "out"
    assert main(["leaderboard", "--db", str(db), "--out", str(out)]) == 0
    return out


# ----------------------------------------------------------------- straight from the database
def _stored(db: Path) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    rows = [dict(r) for r in connection.execute("SELECT * FROM results")]
    connection.close()
    for row in rows:
        row["metrics"] = json.loads(row["metrics"])
        row["tuned"] = bool(json.loads(row["spec"]).get("tuned_from"))
    return rows


def _independent(db: Path, scenario: str) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Per (method, default|tuned): per-seed forget gap, retain gap and ToW (in [0, 1])."""
    forget_key = "forget_acc_train" if scenario == "samples" else "forget_acc_test"
    rows = [r for r in _stored(db) if r["scenario"] == scenario
            and r["status"] in ("ok", "failed")]
    gold = {(r["forget"], r["seed"]): r["metrics"] for r in rows if r["method"] == "retrain"}
    out: dict[tuple[str, str], dict[str, dict[int, list[float]]]] = {}
    for row in rows:
        if row["method"] in ("retrain", "original"):
            continue
        entry = out.setdefault((row["method"], "tuned" if row["tuned"] else "default"),
                               {"forget": {}, "retain": {}, "score": {}, "time": {}})
        if row["status"] == "failed":  # scores 0, has no other value
            entry["score"].setdefault(row["seed"], []).append(0.0)
            continue
        g, m = gold[(row["forget"], row["seed"])], row["metrics"]
        forget = m[forget_key] - g[forget_key]
        retain = m["retain_acc_test"] - g["retain_acc_test"]
        for name, value in (("forget", forget), ("retain", retain),
                            ("score", (1 - abs(forget)) * (1 - abs(retain))),
                            ("time", m["time_s"])):
            entry[name].setdefault(row["seed"], []).append(value)
    return {key: {name: [sum(v) / len(v) for _, v in sorted(seeds.items())]
                  for name, seeds in entry.items()} for key, entry in out.items()}


def _interval_text(values: list[float], scale: float, sign: bool) -> str:
    mean = sum(values) / len(values) * scale
    sd = math.sqrt(sum((v * scale - mean) ** 2 for v in values) / (len(values) - 1))
    half = stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    return f"{mean:{'+' if sign else ''}.{1 if scale == 100 else 3}f} ± {half:.{1 if scale == 100 else 3}f}"


def _tables(markdown: str) -> dict[str, dict[tuple[str, str], dict[str, str]]]:
    """Board heading -> (method label, settings) -> column -> cell text."""
    tables, heading, header = {}, None, None
    for line in markdown.splitlines():
        if line.startswith("## "):
            heading, header = line[3:], None
        elif line.startswith("| ") and heading:
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if header is None:
                header = cells
            elif not set(line) <= set("|-: "):
                record = dict(zip(header, cells, strict=True))
                tables.setdefault(heading, {})[(record["Method"], record["Settings"])] = record
    return tables


def _label(method: str) -> str:
    import_builtins()
    cls = METHODS.get(method)
    return cls.display().label + (" †" if cls.zero_glance() else "")


@pytest.mark.parametrize("scenario, heading", [("classes", "whole classes (forget 3"),
                                               ("samples", "random samples (forget samples:10%)")])
def test_markdown_numbers_are_the_database_numbers(db, board_dir, scenario, heading) -> None:
    tables = _tables((board_dir / "leaderboard.md").read_text())
    title = next(t for t in tables if heading in t)
    table = tables[title]
    forget_header = "Forget acc (train) − gold (pp) →0" if scenario == "samples" \
        else "Forget acc − gold (pp) →0"
    expected = _independent(db, scenario)
    assert {(m, s) for m, s in expected} >= {("finetune", "default"), ("finetune", "tuned"),
                                              ("ssd", "default"), ("ssd", "tuned")}
    for (method, settings), values in expected.items():
        line = table[(_label(method), settings)]  # default and tuned rows both appear
        assert line["Seeds"] == f"n={len(SEEDS)}"
        assert line[forget_header] == _interval_text(values["forget"], 100, True)
        assert line["Retain acc − gold (pp) →0"] == _interval_text(values["retain"], 100, True)
        assert line["Score (ToW) ↑"] == _interval_text(values["score"], 1, False)
    # UNSIR: class forgetting only, on the class board and not on the samples one
    assert (_label("unsir"), "default") in table if scenario == "classes" else \
        all(m != _label("unsir") for m, _ in table)


@pytest.mark.parametrize("scenario, heading", [("classes", "whole classes"),
                                               ("samples", "random samples")])
def test_ranking_follows_the_stated_rule(db, board_dir, scenario, heading) -> None:
    """Each method at its tuned entry where it has one, by mean ToW, then by time."""
    table = next(t for h, t in _tables((board_dir / "leaderboard.md").read_text()).items()
                 if heading in h)
    expected = _independent(db, scenario)
    chosen = {}
    for (method, settings), values in expected.items():
        if settings == "tuned" or method not in chosen:
            chosen[method] = values
    order = sorted(chosen, key=lambda m: (-round(sum(chosen[m]["score"]) / len(SEEDS), 12),
                                          sum(chosen[m]["time"]) / len(SEEDS)))
    ranks = {m: line["Rank"] for (m, _), line in table.items()}
    ranked = sorted(((int(line["Rank"]), m, s) for (m, s), line in table.items()
                     if line["Rank"].isdigit()))
    assert [m for _, m, _ in ranked] == [_label(m) for m in order]
    for _, method, settings in ranked:  # ranked at the tuned entry where there is one
        has_tuned = (method, "tuned") in table
        assert settings == ("tuned" if has_tuned else "default")
    assert ranks[_label("retrain")] == "gold" and ranks["Original"] == "–"


def test_rule_and_page(board_dir) -> None:
    markdown = (board_dir / "leaderboard.md").read_text()
    page = (board_dir / "leaderboard.html").read_text()
    for text in (markdown, page):
        assert "Ranking rule" in text and "at its tuned settings where the results hold" in text
    assert page.count("data:image/png;base64,") == 2  # one trade-off figure a board, embedded
    figures = sorted(p.name for p in (board_dir / "figures").glob("*.png"))
    assert figures == ["tradeoff-smallcnn-synthetic-classes.png",
                       "tradeoff-smallcnn-synthetic-samples.png"]
    assert "](figures/tradeoff-smallcnn-synthetic-classes.png)" in markdown


def test_a_claim_reads_the_same_gap_as_the_leaderboard(db, board_dir) -> None:
    """A claim addresses a leaderboard entry by method, ``tuned`` and ``scenario``; with every
    seed holding every forget set its mean over rows is the leaderboard's mean over seeds."""
    import pandas as pd

    numbers = pd.read_csv(board_dir / "leaderboard.csv")
    frame = load_dataframe(db)
    for gap, column in (("forget_gap", "forget_acc_test"), ("retain_gap", "retain_acc_test")):
        claims = parse_claims({"claim": [{
            "name": f"tuned SSD's {gap} on whole classes", "metric": column,
            "where": {"method": "ssd", "tuned": True, "scenario": "classes"},
            "relative_to": {"method": "retrain"}, "op": "<=", "value": 1.0}]})
        [result] = evaluate_claims(claims.claims, frame)
        entry = numbers[(numbers["method"] == "ssd") & (numbers["settings"] == "tuned")
                        & (numbers["scenario"] == "classes")]
        assert result.n == len(SEEDS) * 2  # rows: seeds x the two class forget sets
        assert result.measured == pytest.approx(float(entry[f"{gap}_mean"].iloc[0]), abs=1e-6)


def test_a_failed_cell_is_counted_and_scores_zero(db, tmp_path) -> None:
    def fail_one(row: dict) -> dict:
        if (row["method"], row["forget"], row["seed"]) == ("ssd", "0,2", 0) and \
                row["spec"].get("tuned_from"):
            row = row | {"status": "failed", "error": "boom", "metrics": {}}
        return row

    broken = _copy(db, tmp_path / "failed.sqlite", lambda r: True, fail_one)
    out = tmp_path / "out"
    assert main(["leaderboard", "--db", str(broken), "--out", str(out)]) == 0
    table = next(t for h, t in _tables((out / "leaderboard.md").read_text()).items()
                 if "whole classes" in h)
    line = table[(_label("ssd"), "tuned")]
    values = _independent(broken, "classes")[("ssd", "tuned")]
    assert line["Seeds"] == "n=2 (1 failed)"
    assert line["Score (ToW) ↑"] == _interval_text(values["score"], 1, False)
    assert line["Forget acc − gold (pp) →0"] == _interval_text(values["forget"], 100, True)


def test_rank_prefers_the_tuned_entry_and_breaks_ties_by_time() -> None:
    def entry(method: str, settings: str, score: float, time: float) -> Entry:
        return Entry(method, settings, method, method, 1, 0,
                     {SCORE: Stat(score, math.nan, 1), "time_s": Stat(time, math.nan, 1)})

    entries = [entry("retrain", REFERENCE, 1.0, 9.0), entry("a", DEFAULT, 0.99, 1.0),
               entry("a", TUNED, 0.50, 1.0), entry("b", DEFAULT, 0.80, 5.0),
               entry("c", TUNED, 0.80, 2.0)]
    ordered = rank(entries)
    assert [(e.method, e.settings, e.rank) for e in ordered] == [
        ("retrain", REFERENCE, None), ("c", TUNED, 1), ("b", DEFAULT, 2),
        ("a", DEFAULT, None), ("a", TUNED, 3)]


# ----------------------------------------------------------------- bad input: one line, exit 2
def _error(capsys, *argv: str) -> str:
    assert main(["leaderboard", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_a_missing_database(tmp_path, capsys) -> None:
    err = _error(capsys, "--db", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path / "o"))
    assert "no results database at" in err


def test_an_empty_database(tmp_path, capsys) -> None:
    ResultStore(tmp_path / "empty.sqlite").close()
    err = _error(capsys, "--db", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "o"))
    assert "has no rows" in err


def _copy(db: Path, to: Path, keep, change=lambda row: row) -> Path:
    with ResultStore(db, read_only=True) as source, ResultStore(to) as target:
        for row in source.rows():
            if keep(row):
                target.put(change(row))
    return to


def test_no_gold_rows_to_compare_with(db, tmp_path, capsys) -> None:
    no_gold = _copy(db, tmp_path / "no-gold.sqlite", lambda r: r["method"] != "retrain")
    err = _error(capsys, "--db", str(no_gold), "--out", str(tmp_path / "o"))
    assert "no usable gold rows (retrain" in err


def test_only_reference_rows(db, tmp_path, capsys) -> None:
    only = _copy(db, tmp_path / "refs.sqlite", lambda r: r["method"] in ("retrain", "original"))
    err = _error(capsys, "--db", str(only), "--out", str(tmp_path / "o"))
    assert "only reference rows" in err


def test_out_may_not_be_the_database(db, capsys) -> None:
    err = _error(capsys, "--db", str(db), "--out", str(db))
    assert "--out" in err
