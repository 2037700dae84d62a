"""The published results under docs/results/cifar10-cpu/ agree with their own database.

The folder is committed (issue 8): its tables must be what `benchmark report` makes from
its results.sqlite today, and `check --claims cifar10-cpu` must pass on that database. No
training runs here: both read the committed database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.claims import evaluate_claims, load_claims
from benchmark.harness.store import load_dataframe
from reports.build import outcome_sections, write_tables
from reports.frame import load_results

PUBLISHED = Path(__file__).resolve().parent.parent / "docs" / "results" / "cifar10-cpu"
DATABASE = PUBLISHED / "results.sqlite"


@pytest.fixture(scope="module")
def frame():
    return load_results(DATABASE)


@pytest.fixture(scope="module")
def fresh_tables(frame, tmp_path_factory) -> Path:
    """The tables `report` writes from the committed database today (written once)."""
    folder = tmp_path_factory.mktemp("tables")
    write_tables(frame, folder, outcome_sections(frame))
    return folder


def test_published_database_holds_three_seeds_and_every_class(frame) -> None:
    ok = frame[frame["status"] == "ok"]
    two_sets = ok[ok["forget"].astype(str).isin(["3", "0,2"])]
    assert sorted(two_sets["seed"].unique()) == [0, 1, 2]
    singles = {str(f) for f in ok[ok["seed"] == 0]["forget"].unique() if "," not in str(f)}
    assert singles == {str(c) for c in range(10)}
    assert set(ok["method"]) >= {"original", "retrain", "unsir", "fisher", "finetune"}


@pytest.mark.parametrize("name", ["summary.md", "summary.csv", "paper_layout.md", "paper_layout.csv"])
def test_published_tables_match_the_database(fresh_tables: Path, name: str) -> None:
    committed = (PUBLISHED / "tables" / name).read_text(encoding="utf-8")
    assert (fresh_tables / name).read_text(encoding="utf-8") == committed, (
        f"docs/results/cifar10-cpu/tables/{name} is stale: rerun `python -m benchmark report "
        "--db docs/results/cifar10-cpu/results.sqlite --out docs/results/cifar10-cpu`")


def test_cifar10_cpu_claims_pass_on_the_published_database() -> None:
    results = evaluate_claims(load_claims("cifar10-cpu").claims, load_dataframe(DATABASE))
    failed = [f"{r.claim.name}: {r.verdict} ({r.measured}; {r.why})" for r in results if not r.passed]
    assert results and not failed, failed


def test_unsir_at_common_practice_rates_keeps_what_the_readme_says() -> None:
    """README, "What UNSIR's defaults cost": Adam 1e-4 against the defaults on the same models."""
    common = load_dataframe(PUBLISHED / "unsir-common-practice.sqlite")
    default = load_dataframe(DATABASE)
    for seed in (0, 1, 2):
        mine = common[(common["method"] == "unsir") & (common["seed"] == seed)].iloc[0]
        gold = common[(common["method"] == "retrain") & (common["seed"] == seed)].iloc[0]
        theirs = default[(default["method"] == "unsir") & (default["seed"] == seed)
                         & (default["forget"] == "3")].iloc[0]
        assert mine["hparams"]["impair_lr"] == mine["hparams"]["repair_lr"] == 1e-4
        assert mine["forget_acc_test"] <= 0.005 and mine["retain_acc_test"] >= 0.79
        assert theirs["retain_acc_test"] <= 0.40 and gold["retain_acc_test"] >= 0.80
        # The same cached original and gold model as the published rows.
        published_gold = default[(default["method"] == "retrain") & (default["seed"] == seed)
                                 & (default["forget"] == "3")].iloc[0]
        assert gold["retain_acc_test"] == published_gold["retain_acc_test"]
