"""Stored rows -> a flat pandas DataFrame: one column per scalar, for reports and notebooks.

Metric keys become columns of their own, numbers typed as float from the metric registry
(benchmark.metrics.registry); timing keys get a ``time_`` prefix; where each
time was measured becomes ``timing_host``, ``timing_device``, ``timing_threads`` and
``timing_precision``, so rows measured on different setups are never pooled unnoticed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.harness.schema import STATUS_OK
from benchmark.metrics.registry import METRICS, numeric_columns

TIMING_SETUP_KEYS = ("host", "device", "threads", "precision")
# List-valued or nested columns a flat frame leaves out unless asked for.
DETAIL_COLUMNS = ("spec", "artifacts", *(m.column for m in METRICS.values() if m.detail))


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
    record.setdefault("unlearning_seed", None)  # rows stored before the column: not stated
    record["status"] = row.get("status") or STATUS_OK
    record["error"] = row.get("error")
    record["warnings"] = list(row.get("warnings") or [])
    # The tuned file a method's settings came from (`run --tuned`); None: the preset's.
    record["tuned_from"] = (row.get("spec") or {}).get("tuned_from")
    return record


def rows_to_dataframe(rows: list[dict[str, Any]], *, flat: bool = False, layers: bool = False,
                      details: bool = False) -> pd.DataFrame:
    """The rows as one DataFrame (empty, with no columns, for no rows): the one way from rows
    to a frame. Reports and claims take it as it is; ``flat`` (the Python API, ``export``)
    leaves one scalar a column: hyperparameters as ``hparams.<name>``, provenance as
    ``provenance.<name>``, per-layer distances as ``layer.<parameter>`` only with ``layers``,
    and list-valued details (:data:`DETAIL_COLUMNS`) only with ``details``."""
    records = [flat_record(row) for row in rows]
    if flat:
        records = [_scalars(record, layers, details) for record in records]
    frame = pd.DataFrame(records)
    for column in numeric_columns():  # JSON nulls arrive as None in object columns
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _scalars(record: dict[str, Any], layers: bool, details: bool) -> dict[str, Any]:
    for section in ("hparams", "provenance"):
        record.update({f"{section}.{k}": v for k, v in (record.pop(section) or {}).items()})
    distances = record.pop("layer_distance", None) or {}
    if layers:
        record.update({f"layer.{name}": value for name, value in distances.items()})
    record["access"] = ",".join(record.get("access") or [])
    record["warnings"] = "; ".join(record.get("warnings") or [])
    if not details:
        for column in DETAIL_COLUMNS:
            record.pop(column, None)
    return record
