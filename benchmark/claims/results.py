"""The results a claim set is checked against: a given database, or its own ``[run]``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.claims.schema import ClaimSet
from benchmark.core.errors import UserError
from benchmark.core.roles import REFERENCE_ROLES
from benchmark.harness.frames import rows_to_dataframe
from benchmark.harness.plan import Plan, resolve
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run
from benchmark.harness.settings import read_preset
from benchmark.harness.spec import RunArgs
from benchmark.harness.store import load_dataframe

DEFAULT_CLAIMS_RESULTS = "results/claims.sqlite"


def results_for(claimset: ClaimSet, db: str | None, device: str | None = None,
                data_root: str | None = None, quiet: bool = False,
                rerun: bool = False) -> pd.DataFrame:
    """The results to check: ``db`` when given, else the rows of the ``[run]`` table's run."""
    if db:
        return load_dataframe(db)
    if claimset.run is None:
        raise UserError(f"claims {claimset.source!r} has no [run] table; pass --db RESULTS.sqlite")
    plan = plan_for_run(claimset, device, data_root, rerun)
    missing = sorted(claimset.used_methods - set(plan.methods) - set(REFERENCE_ROLES))
    if missing:  # say so before a long run, not as NO DATA after it
        raise UserError(f"claims {claimset.source!r} use {', '.join(missing)}, which [run] does "
                        f"not run (methods: {', '.join(plan.methods)}); add them to [run] methods")
    rows = run(plan, Reporter.silent() if quiet else Reporter.rich())
    return rows_to_dataframe(rows)


def plan_for_run(claimset: ClaimSet, device: str | None = None, data_root: str | None = None,
                 rerun: bool = False) -> Plan:
    """The plan of the ``[run]`` table: its preset, the other keys on top, then CLI flags."""
    run_table = dict(claimset.run or {})
    preset = str(run_table.pop("preset"))
    try:
        base = read_preset(preset)
    except UserError as error:
        raise UserError(f"claims {claimset.source!r} need preset {preset!r}, which is missing "
                        f"({error}); add it or pass --db with results of such a run") from None
    table = _merge(base, run_table)
    # Claims get their own database unless [run] names one: never mix into the preset's.
    table["results"] = run_table.get("results", DEFAULT_CLAIMS_RESULTS)
    return resolve(RunArgs(preset=preset, table=table, device=device, data_root=data_root,
                           rerun=rerun))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key (``train``, ``methods_config``); anything else replaces."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
