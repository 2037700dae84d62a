"""Claims predict the next seed (issue 24): thresholds fitted with a prediction interval,
checked by leaving each published seed out."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.__main__ import main
from benchmark.claims import evaluate_claims, load_claims
from benchmark.claims.evaluate import Claim, Reference, evaluate_claim
from benchmark.claims.fit import fit_claim, fitted_threshold, with_threshold
from benchmark.harness.store import load_dataframe

ROOT = Path(__file__).resolve().parent.parent
# Each shipped claims file with a published database of several seeds.
PUBLISHED = {"cifar10-cpu": ROOT / "docs" / "results" / "cifar10-cpu" / "results.sqlite"}


@pytest.fixture(scope="module", params=sorted(PUBLISHED))
def published(request):
    return load_claims(request.param), load_dataframe(PUBLISHED[request.param])


# Claims whose left-out seed fails the fit on the others, with the reason (a finding, kept
# visible: the test fails when another claim joins them or one leaves).
UNPREDICTABLE: set[tuple[str, str, int]] = set()
# Empty since the remake of 2026-12-07 (Fisher on 500 images a class): on the previous
# publication Fisher's median forget accuracy had per-seed values 0.0015, 0.113, 0.0, and
# fitted on seeds 0 and 2 alone (bound 0.03) seed 1 failed it. Its per-seed values are now
# 0.011, 0.060, 0.0 and each left-out seed passes the fit on the other two.


def test_each_left_out_seed_passes_the_claims_fitted_on_the_others(published) -> None:
    claimset, frame = published
    name = Path(claimset.source).stem
    checked, failed = 0, set()
    for claim in claimset.claims:
        seeds = sorted(fit_claim(claim, frame).values)
        if len(seeds) < 3:  # fitting on the others needs 2 seeds
            continue
        for left_out in seeds:
            fit = fit_claim(claim, frame, [s for s in seeds if s != left_out])
            assert fit.threshold is not None, (claim.name, fit.why)
            result = evaluate_claim(with_threshold(claim, fit.threshold),
                                    frame[frame["seed"] == left_out])
            checked += 1
            if not result.passed:
                failed.add((name, claim.name, left_out))
    assert checked == 3 * 8  # every claim with three seeds, each seed left out once
    assert failed == {item for item in UNPREDICTABLE if item[0] == name}


def test_no_committed_threshold_is_tighter_than_the_fit_on_every_seed(published) -> None:
    claimset, frame = published
    tighter = [(c.name, c.value, fit_claim(c, frame).threshold) for c in claimset.claims
               if fit_claim(c, frame).stricter_than_fit]
    assert not tighter, tighter
    assert all(r.passed for r in evaluate_claims(claimset.claims, frame))


def test_the_prediction_interval_widens_with_the_spread_and_fewer_seeds() -> None:
    upper = Claim("acc", "forget_acc_test", "<=", 0.05, aggregate="median")
    assert fitted_threshold(upper, [0.0, 0.0, 0.0]) == 0.02  # no spread: the minimum margin
    # Fisher's published per-seed medians: a fresh seed's 0.094 is inside the fit
    assert fitted_threshold(upper, [0.0015, 0.1128, 0.0]) == pytest.approx(0.26)
    lower = Claim("acc", "test_acc", ">=", 0.75, aggregate="min")
    three = fitted_threshold(lower, [0.77, 0.775, 0.78])
    two = fitted_threshold(lower, [0.77, 0.78])
    assert two < three < 0.77
    ratio = Claim("t", "time_s", ">=", 1.3, relative_to=Reference("fisher", "inverse_ratio"))
    geometric_mean = (2.52 * 2.64 * 2.86) ** (1 / 3)
    assert fitted_threshold(ratio, [2.52, 2.64, 2.86]) <= geometric_mean / 1.25  # log scale
    assert fitted_threshold(upper, [0.1]) is None  # one seed cannot be fitted


def test_check_fit_prints_the_fitted_thresholds(capsys) -> None:
    code = main(["check", "--claims", "cifar10-cpu", "--db", str(PUBLISHED["cifar10-cpu"]), "--fit"])
    out = capsys.readouterr().out
    assert code == 0 and "Thresholds fitted to predict a new seed" in out
    assert "<= 0.26" in out and "a fit needs 2 or more" in out
