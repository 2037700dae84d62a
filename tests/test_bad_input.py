"""Every bad input a user (or a hostile tester) tried: one line, exit 2, nothing written or lost.

Faults that can only show mid-run (a method that diverges) become stored failure rows
instead, and the grid goes on. See tests/test_storage.py for files and folders.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmark.__main__ import main
from benchmark.harness.store import ResultStore

FAST = ["--datasets", "synthetic", "--set", "train.epochs=2", "--set", "metrics.relearn=false",
        "--set", "unsir.noise_steps=2", "--set", "unsir.noise_batch=8", "--device", "cpu",
        "--quiet"]


def _rows(path: Path) -> list[dict]:
    with ResultStore(path, read_only=True) as store:
        return store.rows()


def _one_line_exit_2(capsys, code: int, *expected: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    for text in expected:
        assert text in err, err
    return err


@pytest.mark.parametrize("arguments, message", [
    (["--set", "unsir.noise_lr=-1"], "unsir.noise_lr must be above 0, not -1"),
    (["--set", "unsir.impair_lr=-5"], "unsir.impair_lr must be above 0, not -5"),
    (["--set", "unsir.impair_lr=1e400"], "must be a finite number"),
    (["--set", "train.lr=-0.1"], "lr must be at least 0"),
    (["--set", "train.epochs=99999999999999"], "must be at most 2147483647"),
    (["--set", "metrics.relearn_per_class=0"], "metrics.relearn_per_class must be at least 1"),
    (["--set", "engine.precision=fp8"], "choose one of"),
    (["--set", "nope.x=1"], "'nope' is not a method or setting section"),
    (["--seeds=-1"], "seed -1 is out of range"),
    (["--seeds", "99999999999999999999"], "is out of range"),
    (["--seeds", "a"], "seeds must be whole numbers"),
    (["--methods", "original"], "'original' is not a method"),
    (["--results", "/proc/nope/r.sqlite"], "/proc/nope"),
])
def test_bad_flags_stop_before_anything_is_written(tmp_path, capsys, arguments, message) -> None:
    results = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--results", str(results),
                 "--cache-dir", str(tmp_path / "cache"), *FAST, *arguments])
    _one_line_exit_2(capsys, code, message)
    assert not results.exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("preset, message", [
    ('seeds = ["a"]', "seeds: seed 'a' is not a whole number"),
    ("seeds = [-3]", "seed -3 is out of range"),
    ("methods = 5", "methods must be a name or a list of names"),
    ('device = ["cpu"]', "device must be a string"),
    ("save_models = 1", "save_models must be true or false"),
    ("[train]\nepochs = \"ten\"", "train.epochs must be a whole number"),
    ("[train.model]\nsmallcnn = 3", "[train.model] must hold one table per model name"),
    ("[methods_config]\nunsir = 1", "[unsir] must be a table of settings"),
    ("[data]\ntrain_per_class = -1", "data.train_per_class must be at least 0"),
])
def test_preset_files_with_wrong_types_are_one_line(tmp_path, capsys, preset, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(preset + "\n")
    results = tmp_path / "r.sqlite"
    code = main(["run", "--preset", str(path), "--results", str(results), "--device", "cpu",
                 "--datasets", "synthetic", "--quiet"])
    _one_line_exit_2(capsys, code, message)
    assert not results.exists()


def test_claims_with_a_bad_run_table_create_no_database(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the claims' default database is results/claims.sqlite
    claims = tmp_path / "c.toml"
    claims.write_text('[run]\npreset = "default"\nseeds = "x"\n\n[[claim]]\nname = "a"\n'
                      'metric = "forget_acc_test"\nop = "<="\nvalue = 1\n')
    code = main(["check", "--claims", str(claims), "--device", "cpu"])
    _one_line_exit_2(capsys, code, "seeds")
    assert not (tmp_path / "results").exists()


def test_duplicate_names_run_once(tmp_path) -> None:
    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir,unsir", "--seeds", "0,0", "--forget", "3",
                 "--forget", "3", "--results", str(results), *FAST]) == 0
    assert sorted(row["method"] for row in _rows(results)) == ["original", "retrain", "unsir"]


def test_a_diverging_method_is_a_failure_row_and_the_grid_goes_on(tmp_path, capsys) -> None:
    results = tmp_path / "r.sqlite"
    args = ["run", "--methods", "unsir,finetune", "--results", str(results), *FAST,
            "--set", "unsir.impair_lr=1e20", "--set", "metrics.relearn=true",
            "--set", "metrics.relearn_max_epochs=1"]
    assert main(args) == 0
    rows = {row["method"]: row for row in _rows(results)}
    assert rows["unsir"]["status"] == "failed" and "diverged" in rows["unsir"]["error"]
    assert rows["unsir"]["metrics"] == {}
    assert rows["finetune"]["status"] == "ok" and rows["finetune"]["metrics"]["test_acc"] > 0
    assert main(args) == 0  # a resume skips the stored failure instead of crashing on it
    assert len(_rows(results)) == 4


def test_a_collapsed_model_is_flagged_not_passed_off(tmp_path) -> None:
    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir", "--results", str(results), *FAST,
                 "--set", "unsir.impair_lr=1e9", "--set", "unsir.repair_epochs=0"]) == 0
    unsir = next(row for row in _rows(results) if row["method"] == "unsir")
    if unsir["status"] == "ok":  # a huge step either diverges or collapses the model
        assert any(w.startswith("collapsed") for w in unsir["warnings"]), unsir["warnings"]
    else:
        assert "diverged" in unsir["error"]


def test_a_corrupt_row_is_skipped_and_measured_again(tmp_path, capsys) -> None:
    results = tmp_path / "r.sqlite"
    args = ["run", "--methods", "unsir", "--results", str(results), *FAST]
    assert main(args) == 0
    import sqlite3

    with sqlite3.connect(results) as connection:  # one flipped byte in one row's JSON
        row_id, metrics = connection.execute(
            "SELECT row_id, metrics FROM results WHERE method = 'unsir'").fetchone()
        connection.execute("UPDATE results SET metrics = ? WHERE row_id = ?",
                           (metrics.replace("{", "[", 1), row_id))
    capsys.readouterr()
    assert main(["report", "--db", str(results), "--out", str(tmp_path / "report")]) == 0
    assert "skipped 1 corrupt row" in capsys.readouterr().err
    assert main(args) == 0  # resume measures the corrupt cell again and replaces it
    rows = {row["method"]: row for row in _rows(results)}
    assert set(rows) == {"original", "retrain", "unsir"}
    assert isinstance(rows["unsir"]["metrics"], dict) and rows["unsir"]["metrics"]["test_acc"] >= 0


def test_rows_record_what_they_were_timed_on(tmp_path) -> None:
    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir", "--results", str(results), *FAST]) == 0
    for row in _rows(results):
        setup = row["timings"]["measured_on"]
        assert set(setup) == {"host", "device", "threads", "precision"}, row["method"]
        assert setup["precision"] == "fp32" and setup["threads"] >= 1
        json.dumps(row)  # plain JSON all the way down
    assert hashlib.sha256(results.read_bytes()).hexdigest()  # the file is a readable database


def test_check_lists_failed_cells(tmp_path, capsys) -> None:
    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir", "--results", str(results), *FAST,
                 "--set", "unsir.impair_lr=1e20"]) == 0
    claims = tmp_path / "c.toml"
    claims.write_text('[[claim]]\nname = "unsir forgets"\nwhere = { method = "unsir" }\n'
                      'metric = "forget_acc_test"\nop = "<="\nvalue = 0.1\n')
    capsys.readouterr()
    assert main(["check", "--claims", str(claims), "--db", str(results)]) == 1
    out = capsys.readouterr().out
    assert "failed cell: smallcnn/synthetic forget 3 seed 0 unsir: diverged" in out
