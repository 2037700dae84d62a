"""Nothing of the user's is lost or shadowed (issue 25).

The cache sweep deletes only the store's own files; read-only commands write nothing
beside a database, also in a read-only folder; ``python -m benchmark`` works from a folder
holding ``datasets/``, ``methods/`` or ``reports/``; cache paths are stored absolute.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from benchmark.__main__ import main
from benchmark.core import artifacts
from benchmark.core.artifacts import MARKER, ArtifactStore, sweep_debris
from benchmark.harness.store import ResultStore
from tests.helpers import copy_db

FAST = ["--datasets", "synthetic", "--set", "train.epochs=2", "--set", "metrics.relearn=false",
        "--device", "cpu", "--quiet"]
ROOT = Path(__file__).resolve().parents[1]
KEY = "0123456789abcdef"  # a model key: 16 hex digits
DATA_KEY = "0123456789abcdef0123"  # a decode-cache key: 20 hex digits
TWO_DAYS = 2 * 24 * 3600


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # finished and reaped: no process has this id (until it is reused)


def _foreign_names() -> list[str]:
    """Files a user might keep in a shared cache folder; none is the store's."""
    host = socket.gethostname().replace(".", "_")
    return ["my_resnet_epoch90.pt", "embeddings.pt", ".draft.tmp", ".notes.tmp", "notes.json",
            "original-abc.pt", "original-0123456789ABCDEF.pt", "resnet-epoch-90.pt",
            f".my_model.pt.{host}.{_dead_pid()}.tmp",  # our tmp pattern, not a store entry
            ".x.otherhost.1.tmp", "README"]


def _plant(folder: Path, age_s: float) -> dict[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    planted = {}
    for name in _foreign_names():
        path = folder / name
        path.write_bytes(f"user data {name}".encode())
        old = time.time() - age_s
        os.utime(path, (old, old))
        planted[path] = _digest(path)
    return planted


def _ours(folder: Path) -> list[Path]:
    """Debris the store itself leaves when killed: weights without JSON, a dead writer's tmp."""
    host = socket.gethostname().replace(".", "_")
    paths = [folder / f"original-{KEY}.pt", folder / f"cifar10-{DATA_KEY}.pt",
             folder / f".retrain-{KEY}.json.{host}.{_dead_pid()}.tmp"]
    for path in paths:
        path.write_bytes(b"x")
        old = time.time() - TWO_DAYS
        os.utime(path, (old, old))
    return paths


def _survived(planted: dict[Path, str]) -> None:
    for path, digest in planted.items():
        assert path.is_file(), f"{path} was deleted"
        assert _digest(path) == digest, f"{path} was changed"


@pytest.mark.parametrize("age_s", [0.0, 3600.0, TWO_DAYS])
def test_the_sweep_deletes_only_the_stores_own_debris(tmp_path, age_s) -> None:
    folder = tmp_path / "shared"
    planted = _plant(folder, age_s)
    ArtifactStore(folder)  # the first opening marks the folder and deletes nothing
    assert (folder / MARKER).is_file()
    ours = _ours(folder)
    assert sorted(sweep_debris(folder)) == sorted(ours)
    _survived(planted)
    assert not any(p.exists() for p in ours)


def test_an_unmarked_folder_is_never_swept(tmp_path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    ours = _ours(folder)  # named like the store's, but the folder is no store's
    assert sweep_debris(folder) == []
    assert all(p.exists() for p in ours)
    ArtifactStore(folder)  # a folder first opened now held no debris of ours
    assert all(p.exists() for p in ours)


@pytest.mark.slow
def test_a_shared_cache_folder_keeps_every_foreign_file_through_every_command(
        tmp_path, capsys) -> None:
    cache, results = tmp_path / "proj", tmp_path / "r.sqlite"
    planted = {}
    for folder in (cache, cache / "checkpoints", cache / "data"):
        for age in (0.0, 3600.0, TWO_DAYS):
            planted |= _plant(folder / f"age{int(age)}", age) if age else _plant(folder, age)
    for path in list(planted):  # the same names, old, right in each folder too
        if path.parent.name.startswith("age"):
            target = path.parent.parent / f"old-{path.name}"
            shutil.copy2(path, target)
            planted[target] = planted[path]
    run = ["run", "--methods", "retrain", "--results", str(results), "--cache-dir", str(cache),
           *FAST]
    assert main(run) == 0
    ArtifactStore(cache / "data", "data cache folder")  # as a decode would open it
    ours = _ours(cache / "checkpoints") + _ours(cache / "data")
    assert main([*run, "--rerun"]) == 0  # this opening sweeps the store's own debris
    ArtifactStore(cache / "data", "data cache folder")  # synthetic data is never decode-cached
    assert not any(p.exists() for p in ours)
    assert main(["run", "--methods", "retrain", "--datasets", "cifar10", "--forget", "random:11",
                 "--results", str(results), "--cache-dir", str(cache), "--device", "cpu",
                 "--quiet"]) == 2
    assert main(["report", "--db", str(results), "--out", str(tmp_path / "rep")]) == 0
    assert main(["export", "--db", str(results), "--out", str(tmp_path / "r.csv")]) == 0
    assert main(["check", "--claims", "default", "--db", str(results)]) in (0, 1)
    capsys.readouterr()
    _survived(planted)


# ----------------------------------------------------------------------------- read-only
@pytest.fixture
def run_db(small_results_db: Path):
    """``run_db(folder)``: a private byte-for-byte copy of the session's small database (as
    ``run`` left it) in ``folder``."""
    return lambda folder: copy_db(small_results_db, folder)


def _beside(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + "-"))


def _read_commands(db: Path, out: Path) -> list[list[str]]:
    return [["report", "--db", str(db), "--out", str(out / "rep")],
            ["export", "--db", str(db), "--out", str(out / "r.csv")],
            ["check", "--claims", "default", "--db", str(db)]]


def _to_wal(db: Path) -> None:
    """What a killed or older run leaves: the header says WAL, with no -wal file beside."""
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    assert _beside(db) == []
    assert db.read_bytes()[18] == 2


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["as run left it", "left in WAL mode"])
def test_read_only_commands_leave_nothing_beside_the_database(tmp_path, capsys, mode,
                                                             run_db) -> None:
    db = run_db(tmp_path)
    assert _beside(db) == [] and db.read_bytes()[18] == 1  # run ends in rollback-journal mode
    if mode == "left in WAL mode":
        _to_wal(db)
    before = _digest(db)
    for command in _read_commands(db, tmp_path):
        assert main(command) in (0, 1), command
        assert _beside(db) == [], command
    from benchmark.api import load_results

    assert len(load_results(db)) == 2 and _beside(db) == []
    capsys.readouterr()
    assert _digest(db) == before


def _unprivileged(command: list[str], home: Path) -> subprocess.CompletedProcess:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot test a read-only folder")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = dict(os.environ, HOME=str(home), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT),
               MPLCONFIGDIR=str(home / "mpl"))
    return subprocess.run([*prefix, sys.executable, "-m", "benchmark", *command],
                          capture_output=True, text=True, env=env, cwd=home, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["as run left it", "left in WAL mode"])
def test_a_read_only_folder_is_readable_by_a_non_root_user(tmp_path, mode, run_db) -> None:
    db = run_db(tmp_path)
    if mode == "left in WAL mode":
        _to_wal(db)
    shelf = Path(tempfile.mkdtemp(prefix="unlearn-ro-", dir="/tmp"))
    home = Path(tempfile.mkdtemp(prefix="unlearn-home-", dir="/tmp"))
    try:
        copy = shelf / "r.sqlite"
        shutil.copy2(db, copy)
        copy.chmod(0o444)
        shelf.chmod(0o555)  # a read-only folder (what a read-only mount looks like to a user)
        home.chmod(0o777)
        before = _digest(copy)
        for command in _read_commands(copy, home):
            result = _unprivileged(command, home)
            assert result.returncode in (0, 1), (command, result.stderr)
            assert "error" not in result.stderr, result.stderr
        assert "retrain" in (home / "r.csv").read_text()
        assert _beside(copy) == [] and _digest(copy) == before
    finally:
        shelf.chmod(0o755)
        shutil.rmtree(shelf, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


# ----------------------------------------------------------------------------- paths
def test_cache_paths_are_stored_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--methods", "finetune", "--results", "r.sqlite", "--cache-dir", "rel",
                 "--save-models", "--set", "finetune.epochs=1", *FAST]) == 0
    with ResultStore(tmp_path / "r.sqlite", read_only=True) as store:
        rows = {row["method"]: row for row in store.rows()}
    for key in ("model_path", "original_path"):
        path = rows["finetune"]["artifacts"][key]
        assert Path(path).is_absolute() and Path(path).is_file(), (key, path)
        assert Path(path).is_relative_to(tmp_path / "rel")


# ----------------------------------------------------------------------------- shadowing
def _shadow_folder(folder: Path) -> None:
    (folder / "datasets").mkdir()  # a plain folder: a namespace package
    (folder / "datasets" / "train.csv").write_text("x\n")
    (folder / "methods").mkdir()
    (folder / "methods" / "__init__.py").write_text("raise ImportError('the user methods')\n")
    (folder / "reports").mkdir()
    (folder / "reports" / "figures.py").write_text("FIGURES = None\n")


def _module(folder: Path, *command: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT),
               MPLCONFIGDIR=str(folder / ".mpl"))
    return subprocess.run([sys.executable, "-m", "benchmark", *command], capture_output=True,
                          text=True, env=env, cwd=folder, timeout=300)


@pytest.mark.slow
def test_python_m_benchmark_works_from_a_folder_of_the_users(tmp_path, run_db) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _shadow_folder(work)
    listing = _module(work, "list")
    assert listing.returncode == 0, listing.stderr
    assert "unsir" in listing.stdout and "digits" in listing.stdout
    db = run_db(tmp_path)
    for attempt in range(2):  # the second one meets the reports/ folder the first one made
        report = _module(work, "report", "--db", str(db), "--out", "reports")
        assert report.returncode == 0, (attempt, report.stderr)
    assert (work / "reports" / "index.html").is_file()
    assert (work / "reports" / "figures.py").read_text() == "FIGURES = None\n"  # untouched


def test_artifacts_module_names_match_what_the_store_writes(tmp_path) -> None:
    store = ArtifactStore(tmp_path)
    weights = store.save("original", KEY, {"w": 1}, {})
    assert artifacts.is_entry_name(weights.name) and artifacts.is_entry_name(
        weights.with_suffix(".json").name)
    assert artifacts.is_entry_name(f"cifar10-{DATA_KEY}.pt")
    assert not artifacts.is_entry_name("my_resnet_epoch90.pt")


def test_a_benchmark_folder_of_the_users_is_documented_and_avoided_with_dash_p(tmp_path) -> None:
    """``python -m benchmark`` finds a ``benchmark/`` folder in the working folder before any
    of our code runs (documented in the README); ``python -P -m benchmark`` avoids it."""
    work = tmp_path / "work"
    (work / "benchmark").mkdir(parents=True)
    (work / "benchmark" / "__init__.py").write_text("raise SystemExit('the user benchmark')\n")
    _shadow_folder(work)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    listing = subprocess.run([sys.executable, "-P", "-m", "benchmark", "list"], capture_output=True,
                             text=True, env=env, cwd=work, timeout=300)
    assert listing.returncode == 0, listing.stderr
    assert "unsir" in listing.stdout
    assert "-P -m benchmark" in (ROOT / "README.md").read_text()
