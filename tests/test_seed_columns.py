"""Rows keep the training seed (``seed``) and the unlearning seed (``unlearning_seed``) apart,
without changing any stored row's id or metrics; databases from before the column load."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from benchmark.harness.grid import expand
from benchmark.harness.plan import resolve
from benchmark.harness.rows import group_cells
from benchmark.harness.runner import run
from benchmark.harness.spec import RunArgs
from benchmark.harness.store import ResultStore, load_dataframe

ROOT = Path(__file__).resolve().parents[1]
N64 = ROOT / "docs/results/population-default-n64/results.sqlite"


@pytest.mark.slow
def test_rows_store_the_unlearning_seed_apart_from_the_training_seed(tiny_spec) -> None:
    tiny_spec.methods = ["finetune"]
    tiny_spec.seeds = [1]
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert {m: r["seed"] for m, r in rows.items()} == {"original": 1, "retrain": 1, "finetune": 1}
    # The original unlearns nothing; retrain and the method ran with the request's seed.
    assert rows["original"]["unlearning_seed"] is None
    assert rows["retrain"]["unlearning_seed"] == rows["finetune"]["unlearning_seed"] == 1
    frame = load_dataframe(tiny_spec.results)
    assert frame.set_index("method")["unlearning_seed"].to_dict()["finetune"] == 1


def test_the_published_rows_keep_their_ids() -> None:
    """The cells of the published 64-model run (default preset, every method, seeds 0, 1, 2)
    have the ids its database stores: seed 0's were stored before the settings added since
    (population_training, the unlearning seed's column), which are left out of a cell's id
    at their default."""
    with sqlite3.connect(f"{N64.as_uri()}?mode=ro&immutable=1", uri=True) as connection:
        stored = connection.execute("SELECT seed, row_id FROM results").fetchall()
    for seed in (0, 1, 2):
        plan = resolve(RunArgs(methods=["all"], seeds=[seed], device="cpu",
                               settings=["metrics.population=64"]))
        (group,) = expand(plan)
        assert {cell.row_id for cell in group_cells(plan, group)} == {r for s, r in stored if s == seed}


def test_a_database_from_before_the_column_loads_and_gains_it(tmp_path) -> None:
    """Seed 0 of the published 64-model run was stored before the column existed; the writer
    of seed 1 added it (``ALTER TABLE ... ADD COLUMN``, which appends it to the stored schema).
    Without that appended column, seed 0's rows are the database as it was."""
    old = tmp_path / "old.sqlite"
    added = ", unlearning_seed INTEGER)"
    with sqlite3.connect(N64.as_uri() + "?mode=ro&immutable=1", uri=True) as source:
        schema = source.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'results'").fetchone()[0]
        names = [d[0] for d in source.execute("SELECT * FROM results LIMIT 1").description]
        assert schema.endswith(added) and names[-1] == "unlearning_seed"
        schema, names = schema[: -len(added)] + ")", names[:-1]
        rows = source.execute(f"SELECT {', '.join(names)} FROM results WHERE seed = 0").fetchall()
    with sqlite3.connect(old) as connection:
        connection.execute(schema)
        marks = ", ".join("?" for _ in names)
        connection.executemany(f"INSERT INTO results VALUES ({marks})", rows)
    frame = load_dataframe(old)  # read-only: the column is absent, the frame states none
    assert len(frame) == 13 and frame["unlearning_seed"].isna().all()
    before = {r["row_id"]: json.dumps(r["metrics"], sort_keys=True)
              for r in ResultStore(old, read_only=True).rows()}
    with ResultStore(old) as store:  # a writer adds the column; old rows keep NULL
        after = store.rows()
    assert all(r["unlearning_seed"] is None for r in after)
    assert {r["row_id"]: json.dumps(r["metrics"], sort_keys=True) for r in after} == before
