"""Stored rows -> a flat pandas DataFrame: one column per scalar, for reports and notebooks.

Metric keys become columns of their own; timing keys get a ``time_`` prefix; where each
time was measured becomes ``timing_host``, ``timing_device``, ``timing_threads`` and
``timing_precision``, so rows measured on different setups are never pooled unnoticed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.harness.schema import STATUS_OK

TIMING_SETUP_KEYS = ("host", "device", "threads", "precision")


def flat_record(row: dict[str, Any]) -> dict[str, Any]:
    """One stored row as a flat dict (metrics and timings spread out)."""
    record = {k: v for k, v in row.items() if k not in ("metrics", "timings")}
    record.update(row["metrics"])
    timings = dict(row["timings"])
    setup = timings.pop("measured_on", None) or {}
    record.update({f"time_{k}": v for k, v in timings.items() if not isinstance(v, dict)})
    for key in TIMING_SETUP_KEYS:  # rows built by hand may carry the flat keys already
        record[f"timing_{key}"] = setup.get(key, record.get(f"timing_{key}"))
    record["zero_glance"] = bool(row["zero_glance"])
    record["status"] = row.get("status") or STATUS_OK
    record["error"] = row.get("error")
    record["warnings"] = list(row.get("warnings") or [])
    # The tuned file a method's settings came from (`run --tuned`); None: the preset's.
    record["tuned_from"] = (row.get("spec") or {}).get("tuned_from")
    return record


def rows_to_dataframe(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as one flat DataFrame (empty, with no columns, for no rows)."""
    return pd.DataFrame([flat_record(row) for row in rows])
