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
from tests.helpers import copy_db

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
    # issue 25: accepted silently before
    (["--set", "fisher.alpha=abc"], "fisher.alpha must be a number"),  # fisher is not run
    (["--set", "train.epochs=0"], "train.epochs=0 trains nothing"),
    (["--set", "train.lr=1e-400"], "--set train.lr: 1e-400 is too small for a float"),
    (["--set", "unsir.impair_lr=1e-400"], "underflows to 0"),
    (["--results", ":memory:"], "--db ':memory:' is not a file"),
    # refused from the arguments, before 185 MB of CIFAR-10 are decoded (no data root needed)
    (["--datasets", "cifar10", "--forget", "random:11"], "cifar10: --forget 'random:11': K must"),
    (["--datasets", "cifar100", "--forget", "100"], "out of range; this data set has classes 0..99"),
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
    ("", "is empty"),
    ("# nothing but a comment", "is empty"),
    ("[train]\nlr = 1e-400", "train.lr=0.0 must be above 0"),
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


# ----------------------------------------------------------------------------- issue 25
def test_a_ray_address_nobody_answers_is_one_line_fast_and_creates_nothing(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    started = time.monotonic()
    code = main(["run", "--methods", "unsir", "--results", str(results), "--cache-dir",
                 str(cache), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", *FAST])
    _one_line_exit_2(capsys, code, f"nothing answers at --ray-address 127.0.0.1:{port}")
    assert time.monotonic() - started < 30
    assert not results.exists() and not cache.exists()
    code = main(["run", "--methods", "unsir", "--results", str(results), "--executor", "ray",
                 "--ray-address", "no-port-here", *FAST])
    _one_line_exit_2(capsys, code, "bad --ray-address 'no-port-here'")


@pytest.fixture(scope="module")
def stored(tmp_path_factory, small_results_db) -> Path:
    """A small results database (original and retrain rows) shared by the output-path tests:
    a copy of the session's (conftest), so no test here can change another file's."""
    return copy_db(small_results_db, tmp_path_factory.mktemp("stored"))


def _output_cases(tmp: Path, db: Path) -> list[tuple[list[str], str]]:
    (tmp / "rep").write_text("a file")
    (tmp / "blocker").write_text("a file")
    (tmp / "outd").mkdir(exist_ok=True)
    (tmp / "tunedfile").write_text("a file")
    return [
        (["export", "--db", str(db), "--out", str(db)], "is the results database"),
        (["export", "--db", str(db), "--out", f"{db.parent}/../{db.parent.name}/{db.name}"],
         "is the results database"),
        (["export", "--db", str(tmp / "r.csv"), "--out", str(tmp / "r.csv")],
         "is the results database"),
        (["export", "--db", str(db), "--out", f"{tmp / 'outd'}/"], "is a folder"),
        (["export", "--db", str(db), "--out", str(tmp / "outd")], "is a folder"),
        (["export", "--db", str(db), "--out", str(tmp / "blocker" / "x.csv")],
         "blocker is a file, not a folder"),
        (["export", "--db", str(db), "--out", "/proc/out.csv"], "/proc is not writable"),
        (["report", "--db", str(db), "--out", str(tmp / "rep")], "is a file; give a folder"),
        (["report", "--db", str(db), "--out", str(db)], "is the results database"),
        (["report", "--db", str(db), "--out", str(tmp / "blocker" / "sub")], "is a file"),
        (["tune", "--methods", "unsir", "--out", str(tmp / "tunedfile"), "--device", "cpu",
          "--results", str(tmp / "t.sqlite"), "--cache-dir", str(tmp / "tcache")],
         "--out " + str(tmp / "tunedfile") + " is a file"),
        (["tune", "--methods", "unsir", "--out", str(tmp / "t.sqlite"), "--device", "cpu",
          "--results", str(tmp / "t.sqlite"), "--cache-dir", str(tmp / "tcache")],
         "is the results database"),
        (["run", "--methods", "unsir", "--results", str(tmp / "blocker"), "--data-root",
          str(tmp / "blocker"), *FAST], "is the data root"),
        (["run", "--methods", "unsir", "--results", str(tmp / "x.sqlite"), "--data-root",
          str(tmp / "outd"), "--cache-dir", str(tmp / "outd"), *FAST], "is the data root"),
    ]


def test_output_paths_are_checked_before_any_work(tmp_path, capsys, stored) -> None:
    before = hashlib.sha256(stored.read_bytes()).hexdigest()
    (tmp_path / "r.csv").write_text("a,b\n1,2\n")
    for arguments, message in _output_cases(tmp_path, stored):
        _one_line_exit_2(capsys, main(arguments), message)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == before
    assert (tmp_path / "r.csv").read_text() == "a,b\n1,2\n"
    assert not (tmp_path / "tcache").exists() and not (tmp_path / "t.sqlite").exists()
    assert not (tmp_path / "x.sqlite").exists()
    assert (tmp_path / "outd").is_dir() and list((tmp_path / "outd").iterdir()) == []
    # A missing parent folder is no error: it is created.
    out = tmp_path / "newdir" / "sub" / "x.csv"
    assert main(["export", "--db", str(stored), "--out", str(out)]) == 0
    assert "retrain" in out.read_text()


@pytest.mark.parametrize("column, value", [("metrics", "[]"), ("spec", "null"),
                                           ("timings", "3"), ("warnings", "{}")])
@pytest.mark.slow
def test_a_row_of_the_wrong_shape_is_skipped_and_measured_again(tmp_path, capsys, column, value):
    import sqlite3

    results = tmp_path / "r.sqlite"
    args = ["run", "--methods", "retrain", "--results", str(results),
            "--cache-dir", str(tmp_path / "cache"), *FAST]
    assert main(args) == 0
    with sqlite3.connect(results) as connection:
        connection.execute(f"UPDATE results SET {column} = ? WHERE method = 'retrain'", (value,))
    capsys.readouterr()
    assert main(["report", "--db", str(results), "--out", str(tmp_path / "report")]) == 0
    assert "skipped 1 corrupt row" in capsys.readouterr().err
    assert main([a for a in args if a != "--quiet"]) == 0  # the final table, then a resume
    rows = {row["method"]: row for row in _rows(results)}
    assert set(rows) == {"original", "retrain"} and isinstance(rows["retrain"]["metrics"], dict)


def test_claims_on_a_database_of_failures_only_have_no_data(tmp_path, capsys, stored) -> None:
    import shutil
    import sqlite3

    failed = tmp_path / "failed.sqlite"
    shutil.copy(stored, failed)
    with sqlite3.connect(failed) as connection:
        connection.execute("UPDATE results SET status = 'failed', error = 'boom', metrics = '{}'")
    capsys.readouterr()
    assert main(["check", "--claims", "default", "--db", str(failed)]) == 1
    captured = capsys.readouterr()
    assert "NO DATA" in captured.out and "no measured row" in captured.out, captured.out
    assert "unknown metric" not in captured.err


@pytest.mark.parametrize("arguments, message", [
    (["--forget", "subclass:baby"], "has no fine labels"),  # raised while loading the data
    (["--forget", "samples:0.0001%"], "forgets no sample"),
])
def test_a_refusal_with_progress_on_is_still_one_line(tmp_path, capsys, arguments, message):
    results = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--results", str(results), "--cache-dir",
                 str(tmp_path / "cache"), *[a for a in FAST if a != "--quiet"], *arguments])
    _one_line_exit_2(capsys, code, message)
    assert not results.exists()


def test_a_full_disk_with_progress_on_is_still_one_line(tmp_path, capsys, monkeypatch) -> None:
    import shutil

    import benchmark.harness.paths as paths

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(paths.shutil, "disk_usage", lambda _: usage._replace(free=1024))
    code = main(["run", "--methods", "unsir", "--results", str(tmp_path / "r.sqlite"),
                 "--cache-dir", str(tmp_path / "c"), *[a for a in FAST if a != "--quiet"]])
    _one_line_exit_2(capsys, code, "not enough free disk")
