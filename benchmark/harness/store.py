"""SQLite results store: one row per cell and method, exported to pandas for reports.

SQLite is embedded (no server) and safe with several writers (WAL mode, short
transactions). Rows are never deleted by a run; ``--rerun`` replaces a row with a fresh
measurement. A database is ours when it carries our application id (set on creation) or,
for databases made before the id existed, our ``results`` table; ``run`` refuses any other
database rather than writing into it, and ``report``/``check`` open databases read-only,
so reading never changes a file. A row whose JSON does not parse, or parses to the wrong
shape (``metrics = '[]'``, ``spec = 'null'``), is reported and skipped, and counts as
missing, so the next run measures it again.

Read-only really is read-only: a writer that closes last switches the database back to the
rollback journal (``journal_mode=DELETE``), so no ``-wal``/``-shm`` file stays beside it;
readers open it with ``mode=ro``, and with ``immutable=1`` where nothing may be written
beside it (a read-only folder or mount) or where a WAL database has no ``-wal`` file left
to merge (a database a killed or older run left in WAL mode), so reading creates nothing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.core.artifacts import StorageError
from benchmark.core.errors import UserError
from benchmark.harness.schema import (
    APPLICATION_ID,
    COLUMN_DEFAULTS,
    JSON_COLUMNS,
    REQUIRED_COLUMNS,
    SCHEMA,
)

log = logging.getLogger(__name__)

OPEN_RETRY_S = 60.0  # concurrent openers of a fresh database wait for each other this long
# The JSON type of each JSON column; a row holding anything else is skipped as corrupt.
JSON_SHAPES: dict[str, type] = {"access": list, "spec": dict, "hparams": dict, "metrics": dict,
                                "timings": dict, "provenance": dict, "artifacts": dict,
                                "warnings": list}


class ResultStore:
    """The results database at ``path``: created and checked writable unless ``read_only``."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.corrupt: set[str] = set()  # ids of rows whose JSON could not be read
        if self.path.is_dir():
            raise UserError(f"results path {self.path} is a folder; give a file such as results.sqlite")
        if read_only:
            self._connection = _open_read_only(self.path)
        else:
            self._connection = _open_for_writing(self.path)

    def close(self) -> None:
        """Close; a writer leaves the database in rollback-journal mode when it is the last
        one open (no ``-wal``/``-shm`` beside it: read-only readers can open it anywhere)."""
        if not self.read_only:
            try:
                self._connection.execute("PRAGMA busy_timeout = 0")
                self._connection.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error:  # another writer still has it open: it switches when it closes
                pass
        self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def missing(self, row_ids: Iterable[str]) -> set[str]:
        """The ids among ``row_ids`` with no readable stored row (corrupt rows count as missing)."""
        ids = set(row_ids)
        found = {row["row_id"] for row in self.rows(ids)}
        return ids - found

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace one row; ``row`` holds the columns, JSON ones as Python objects."""
        values = {column: default for column, default in COLUMN_DEFAULTS.items()} | dict(row)
        for column in JSON_COLUMNS:
            values[column] = json.dumps(
                _nan_to_none(values[column]), sort_keys=True, default=_json_default, allow_nan=False
            )
        values.setdefault("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        try:
            with self._connection:  # one transaction: a killed run never leaves half a row
                self._connection.execute(
                    f"INSERT OR REPLACE INTO results ({columns}) VALUES ({marks})",
                    tuple(values.values()),
                )
        except sqlite3.OperationalError as error:  # disk full, file made read-only meanwhile
            raise StorageError(f"cannot write to {self.path} ({error}); rows stored before this "
                               "one are kept, free space and run again to resume") from None
        self.corrupt.discard(row["row_id"])

    def rows(self, row_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Stored rows, oldest first; only those in ``row_ids`` when given (resume reads a
        few rows per skipped cell, not the whole database). Corrupt rows are skipped."""
        query, params = "SELECT * FROM results", ()
        if row_ids is not None:
            params = tuple(row_ids)
            query += f" WHERE row_id IN ({', '.join('?' for _ in params)})" if params else " WHERE 0"
        cursor = self._connection.execute(query + " ORDER BY created_at, rowid", params)
        names = [d[0] for d in cursor.description]
        out = []
        for record in cursor.fetchall():
            row = dict(zip(names, record, strict=True))
            try:
                for column in JSON_COLUMNS:
                    row[column] = json.loads(row[column])
                    _check_shape(column, row[column])
            except (TypeError, ValueError) as error:
                if row["row_id"] not in self.corrupt:
                    log.warning("skipping corrupt row %s in %s (%s); it will be measured again",
                                row["row_id"], self.path, error)
                self.corrupt.add(row["row_id"])
                continue
            out.append(row)
        return out


def load_dataframe(path: str | Path, *, flat: bool = False, layers: bool = False,
                   details: bool = False):  # -> pd.DataFrame (pandas is imported lazily: slow)
    """Read a results database into pandas, read-only; a missing or foreign file is a UserError.

    The frame is ``benchmark.harness.frames.rows_to_dataframe`` of its rows (``flat``,
    ``layers``, ``details`` as there). Corrupt rows are skipped with a warning on stderr.
    """
    from benchmark.harness.frames import rows_to_dataframe

    if not Path(path).exists():
        raise UserError(f"no results database at {path}; run `python -m benchmark run` first or pass --db")
    with ResultStore(path, read_only=True) as store:
        frame = rows_to_dataframe(store.rows(), flat=flat, layers=layers, details=details)
        if store.corrupt:
            import sys

            print(f"warning: skipped {len(store.corrupt)} corrupt row(s) in {path}",
                  file=sys.stderr)
        return frame


def _check_shape(column: str, value: Any) -> None:
    expected = JSON_SHAPES.get(column)
    if expected is not None and not isinstance(value, expected):
        raise ValueError(f"its {column} is {type(value).__name__}, not a JSON "
                         f"{'object' if expected is dict else 'array'}")


# ----------------------------------------------------------------------------- opening
def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise UserError(f"no results database at {path}")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        try:
            connection = sqlite3.connect(uri + ("&immutable=1" if _immutable(path) else ""),
                                         uri=True, timeout=60)
            tables = _tables(connection)
        except sqlite3.OperationalError:
            # A WAL database in a folder that looked writable but is not (a read-only bind
            # mount seen by root, a chmod'ed folder): read the file as it is.
            connection = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=60)
            tables = _tables(connection)
    except sqlite3.DatabaseError as error:
        raise UserError(f"{path} is not a results database ({error})") from None
    if "results" not in tables:
        connection.close()
        what = f"it holds tables {', '.join(sorted(tables))}" if tables else "it is empty"
        raise UserError(f"{path} holds no unlearning results ({what}); pass the --db file of a run")
    return connection


def _immutable(path: Path) -> bool:
    """Whether a reader must open ``path`` as immutable to create nothing beside it."""
    folder = path.resolve().parent
    if not os.access(folder, os.W_OK) or not os.access(path, os.W_OK):
        return True  # a read-only folder or mount: SQLite could not even make its -shm
    wal = Path(f"{path}-wal")
    return _in_wal_mode(path) and not wal.exists()  # nothing to merge; no -shm to make


def _in_wal_mode(path: Path) -> bool:
    """Whether the header says WAL (bytes 18 and 19 are 2); a run that ended left it in DELETE."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def _open_for_writing(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create the folder of {path} ({error.strerror or error})") from None
    deadline = time.monotonic() + OPEN_RETRY_S
    while True:
        try:
            return _initialise(path)
        except sqlite3.OperationalError as error:
            # Two processes creating one fresh database: switching to WAL needs a moment
            # alone, and SQLite does not wait for it. Retry rather than fail.
            if "locked" in str(error) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise StorageError(f"cannot write the results database {path} ({error}); "
                               "give a writable --db file") from None
        except sqlite3.DatabaseError as error:
            raise UserError(f"{path} is not a usable results database ({error})") from None


def check_ours(path: Path) -> None:
    """Raise UserError unless ``path`` is absent, empty or one of our databases (reads only)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        try:
            _refuse_foreign(connection, path)
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise UserError(f"{path} is not a usable results database ({error})") from None


def _refuse_foreign(connection: sqlite3.Connection, path: Path) -> None:
    tables = _tables(connection)
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    if tables and application_id != APPLICATION_ID and not _is_ours(connection, tables):
        raise UserError(f"{path} is not a results database of this suite (it holds tables "
                        f"{', '.join(sorted(tables))}); give another --db file")


def _initialise(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=60)
    try:
        _refuse_foreign(connection, path)
        connection.execute("PRAGMA journal_mode=WAL")
        with connection:
            connection.executescript(SCHEMA)
            _add_missing_columns(connection)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            # A real write, now: a read-only file fails here, before any training.
            connection.execute("INSERT OR REPLACE INTO suite_meta (key, value) VALUES (?, ?)",
                               ("last_opened", datetime.now(timezone.utc).isoformat()))
    except BaseException:
        connection.close()
        raise
    return connection


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def _columns(connection: sqlite3.Connection) -> set[str]:
    return {record[1] for record in connection.execute("PRAGMA table_info(results)")}


def _is_ours(connection: sqlite3.Connection, tables: set[str]) -> bool:
    """A database from before the application id: our tables and our results columns."""
    return "results" in tables and REQUIRED_COLUMNS <= _columns(connection) \
        and tables <= {"results", "suite_meta"}


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Columns added since a database was created (older rows get the defaults)."""
    have = _columns(connection)
    for column, declaration in (("status", "TEXT NOT NULL DEFAULT 'ok'"), ("error", "TEXT"),
                                ("warnings", "TEXT NOT NULL DEFAULT '[]'"),
                                ("scenario", "TEXT NOT NULL DEFAULT 'classes'"),
                                ("artifacts", "TEXT NOT NULL DEFAULT '{}'"),
                                ("unlearning_seed", "INTEGER")):
        if column not in have:
            connection.execute(f"ALTER TABLE results ADD COLUMN {column} {declaration}")


# ----------------------------------------------------------------------------- JSON
def _nan_to_none(value: Any) -> Any:
    """NaN (e.g. accuracy on an empty split) is stored as JSON null: strict JSON has no NaN."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return _nan_to_none(value.item())
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
