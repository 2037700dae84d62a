"""The results table: its columns, written once for the store and for readers.

Cell columns (``method`` .. ``device``) identify a measurement; JSON columns hold its spec,
hyperparameters, metrics, timings, provenance and artifacts; ``status`` is ``ok`` or
``failed`` (then ``error`` says why and ``metrics`` is empty) or ``skipped`` (a method not
defined for the cell's forgetting ``scenario``: classes, subclass or samples); ``warnings`` lists what a
reader should know about an ``ok`` row (a collapsed model, an original near chance).

``seed`` is the training seed (which original the row starts from); ``unlearning_seed`` the
seed the row's unlearning ran with (its request's seed, from which a method derives its own
random streams), NULL where nothing was unlearned (the original's row) and in rows stored
before the column existed. Today a run unlearns with the training seed, so both are equal
where both are set; reports average a training seed's unlearning seeds before any interval
or test (reports/stats.py).
"""

from __future__ import annotations

# "UNLB" as a 32-bit integer, stored in the SQLite header: marks a database as ours.
APPLICATION_ID = 0x554E4C42

STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"  # a method not defined for the cell's scenario (``error`` says so)

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    row_id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    forget TEXT NOT NULL,
    n_forget INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    unlearning_seed INTEGER,
    device TEXT NOT NULL,
    zero_glance INTEGER NOT NULL,
    access TEXT NOT NULL,
    spec TEXT NOT NULL,
    hparams TEXT NOT NULL,
    metrics TEXT NOT NULL,
    timings TEXT NOT NULL,
    provenance TEXT NOT NULL,
    artifacts TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    error TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    scenario TEXT NOT NULL DEFAULT 'classes'
);
CREATE INDEX IF NOT EXISTS results_cell ON results (model, dataset, forget, seed);
CREATE TABLE IF NOT EXISTS suite_meta (key TEXT PRIMARY KEY, value TEXT);
"""

JSON_COLUMNS = ("access", "spec", "hparams", "metrics", "timings", "provenance", "artifacts",
                "warnings")
# What a database made by any earlier version of this suite has: it is ours.
REQUIRED_COLUMNS = frozenset({"row_id", "method", "model", "dataset", "forget", "seed",
                              "metrics", "timings", "provenance"})
COLUMN_DEFAULTS = {"artifacts": {}, "status": STATUS_OK, "error": None, "warnings": [],
                   "unlearning_seed": None}
