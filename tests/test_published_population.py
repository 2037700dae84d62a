"""The published many-model runs (docs/results/population-*): what their READMEs read from
them holds, and the claims pass on the N = 8 one."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.claims import evaluate_claims, load_claims
from benchmark.harness.store import load_dataframe

DATABASE = Path(__file__).resolve().parents[1] / "docs/results/population-default-n8/results.sqlite"


@pytest.fixture(scope="module")
def frame():
    return load_dataframe(DATABASE)


def test_three_seeds_of_eight_models_for_every_row(frame) -> None:
    assert set(frame["seed"]) == {0, 1, 2}
    assert set(frame["method"]) == {"original", "retrain", "unsir", "finetune", "neggrad",
                                    "random_label"}
    assert (frame["population"] == 8).all() and frame["forgetting_quality"].notna().all()


def test_random_labels_look_forgotten_by_the_old_tests_but_not_by_f(frame) -> None:
    mine = frame[frame["method"] == "random_label"]
    floor = frame[frame["method"] == "retrain"]["forgetting_quality"].min()
    assert (mine["forget_acc_test"] == 0).all() and (mine["mia_entropy_member_rate"] == 0).all()
    assert mine["forgetting_quality"].max() < floor / 10


def test_population_claims_pass_on_the_published_database(frame) -> None:
    results = evaluate_claims(load_claims("population-default").claims, frame)
    assert all(r.verdict == "PASS" for r in results), [(r.claim.name, r.verdict) for r in results]


N64 = Path(__file__).resolve().parents[1] / "docs/results/population-default-n64/results.sqlite"


def test_sixty_four_models_every_method_below_retrain_and_above_nothing() -> None:
    """What docs/results/population-default-n64/README.md reads from its database, per
    training seed (0, 1 and 2): the same order at the top, every method far below the floor."""
    frame = load_dataframe(N64)
    assert (frame["population"] == 64).all() and len(frame) == 39 and set(frame["seed"]) == {0, 1, 2}
    for _, seed in frame.groupby("seed"):
        seed = seed.set_index("method")
        floor = seed.loc["retrain", "forgetting_quality"]
        methods = seed.drop(index=["original", "retrain"])
        assert (methods["forgetting_quality"] < floor / 5).all()
        assert list(methods["forgetting_quality"].nlargest(3).index) == ["unsir", "neggrad", "ssd"]
        assert seed.loc["original", "forgetting_quality"] == 0
        assert seed.loc["retrain", "klom_forget"] < methods["klom_forget"].min()
    # Between seeds Fisher's single-model attack swings from 30 % to under 1 %, F by 0.002 at most.
    fisher = frame[frame["method"] == "fisher"].set_index("seed")
    assert fisher.loc[0, "mia_entropy_member_rate"] > 0.25 > 0.01 > fisher.loc[1, "mia_entropy_member_rate"]
    spread = frame.groupby("method")["forgetting_quality"].agg(lambda f: f.max() - f.min())
    assert spread.drop(index="retrain").max() < 0.002


C10 = Path(__file__).resolve().parents[1] / "docs/results/population-cifar10-n32/results.sqlite"


def test_cifar10_thirty_two_models_what_its_readme_reads() -> None:
    """What docs/results/population-cifar10-n32/README.md reads from its database."""
    frame = load_dataframe(C10).set_index("method")
    assert (frame["population"] == 32).all() and len(frame) == 13
    assert (frame["dataset"] == "cifar10").all()
    floor = frame.loc["retrain", "forgetting_quality"]
    methods = frame.drop(index=["original", "retrain"])
    assert (methods["forgetting_quality"] < floor / 3).all()  # no method near retraining
    assert methods["forgetting_quality"].idxmin() == "unsir"  # at its defaults: last
    assert frame.loc["unsir", "forgetting_quality"] < frame.loc["original", "forgetting_quality"]
    assert (methods["klom_forget"] > 2 * frame.loc["retrain", "klom_forget"]).all()
    ssd = frame.loc["ssd"]  # zero forget accuracy, yet per example like the original
    assert ssd["forget_acc_test"] == 0 and ssd["klom_forget"] > 0.95 * frame.loc["original", "klom_forget"]
    # The single-model attack flags the retrained pool's own forget class as "members".
    assert frame.loc["retrain", "mia_entropy_member_rate"] > 0.1
