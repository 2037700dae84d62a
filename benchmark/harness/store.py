"""SQLite results store: one row per cell and method, exported to pandas for reports.

SQLite is embedded (no server) and safe with several writers (WAL mode, short transactions).
Rows are never deleted by a run; ``--rerun`` replaces a row with a fresh measurement.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.core.errors import UserError

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    row_id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    forget TEXT NOT NULL,
    n_forget INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    device TEXT NOT NULL,
    zero_glance INTEGER NOT NULL,
    access TEXT NOT NULL,
    spec TEXT NOT NULL,
    hparams TEXT NOT NULL,
    metrics TEXT NOT NULL,
    timings TEXT NOT NULL,
    provenance TEXT NOT NULL,
    artifacts TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_cell ON results (model, dataset, forget, seed);
"""

JSON_COLUMNS = ("access", "spec", "hparams", "metrics", "timings", "provenance", "artifacts")


class ResultStore:
    """Open (creating if needed) the results database at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise UserError(f"results path {self.path} is a folder; give a file such as results.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connection = sqlite3.connect(self.path, timeout=60)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            raise UserError(f"{self.path} is not a usable results database ({error})") from None

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, row_id: str) -> bool:
        cursor = self._connection.execute("SELECT 1 FROM results WHERE row_id = ?", (row_id,))
        return cursor.fetchone() is not None

    def missing(self, row_ids: Iterable[str]) -> set[str]:
        ids = set(row_ids)
        return {row_id for row_id in ids if not self.has(row_id)}

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace one row; ``row`` holds the columns, JSON ones as Python objects."""
        values = dict(row)
        values.setdefault("artifacts", {})
        for column in JSON_COLUMNS:
            values[column] = json.dumps(
                _nan_to_none(values[column]), sort_keys=True, default=_json_default, allow_nan=False
            )
        values.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._connection:  # one transaction: a killed run never leaves half a row
            self._connection.execute(
                f"INSERT OR REPLACE INTO results ({columns}) VALUES ({marks})", tuple(values.values())
            )

    def rows(self, row_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Stored rows, oldest first; only those in ``row_ids`` when given (resume reads a
        few rows per skipped cell, not the whole database)."""
        query, params = "SELECT * FROM results", ()
        if row_ids is not None:
            params = tuple(row_ids)
            query += f" WHERE row_id IN ({', '.join('?' for _ in params)})" if params else " WHERE 0"
        cursor = self._connection.execute(query + " ORDER BY created_at, rowid", params)
        names = [d[0] for d in cursor.description]
        out = []
        for record in cursor.fetchall():
            row = dict(zip(names, record, strict=True))
            for column in JSON_COLUMNS:
                row[column] = json.loads(row[column])
            out.append(row)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """One row per result; metric and timing keys become columns of their own."""
        return rows_to_dataframe(self.rows())


def rows_to_dataframe(rows: list[dict[str, Any]]) -> pd.DataFrame:
    flat = []
    for row in rows:
        record = {k: v for k, v in row.items() if k not in ("metrics", "timings")}
        record.update(row["metrics"])
        record.update({f"time_{k}": v for k, v in row["timings"].items()})
        record["zero_glance"] = bool(row["zero_glance"])
        flat.append(record)
    return pd.DataFrame(flat)


def load_dataframe(path: str | Path) -> pd.DataFrame:
    """Read a results database into pandas; a missing file is a one-line user error."""
    if not Path(path).exists():
        raise UserError(f"no results database at {path}; run `python -m benchmark run` first or pass --db")
    with ResultStore(path) as store:
        return store.to_dataframe()


def _nan_to_none(value: Any) -> Any:
    """NaN (e.g. accuracy on an empty split) is stored as JSON null: strict JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
