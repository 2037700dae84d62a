"""Claims: TOML statements about results (speed, accuracy) checked against a database.

``schema`` reads and validates a claims file, ``evaluate`` decides each claim on a results
DataFrame, ``results`` finds the rows to check (a given database, or the claim set's own
run). The CLI's ``check`` command (benchmark.cli.check) prints the verdicts.
"""

from benchmark.claims.evaluate import FAIL, NO_DATA, PASS, Claim, ClaimResult, evaluate_claims
from benchmark.claims.results import plan_for_run, results_for
from benchmark.claims.schema import ClaimSet, claimset_names, load_claims, parse_claims

__all__ = [
    "FAIL", "NO_DATA", "PASS", "Claim", "ClaimResult", "ClaimSet", "claimset_names",
    "evaluate_claims", "load_claims", "parse_claims", "results_for", "plan_for_run",
]
