"""Output checks of the CLI commands that are not ``run`` (which checks its own in the plan)."""

from __future__ import annotations

from benchmark.harness.paths import check_output_folder
from benchmark.harness.plan import Plan


def check_tune_out(out: str, plan: Plan) -> None:
    """``tune --out``: a folder that can be made, and none of the inputs of the run."""
    check_output_folder(out, "--out", {"results database": plan.results,
                                       "cache folder": plan.cache_root,
                                       "data root": plan.data_root_resolved})
