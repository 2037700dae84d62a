"""Files and folders a run writes: refused up front when unusable, never corrupted, swept.

Read-only cases run the CLI as an unprivileged user (root may write anything), via
``setpriv`` when the tests run as root.
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

import benchmark.core.artifacts as artifacts
import benchmark.harness.paths as paths
from benchmark.__main__ import main
from benchmark.core.artifacts import ArtifactStore
from benchmark.harness.store import ResultStore
from tests.helpers import copy_db

FAST = ["--datasets", "synthetic", "--set", "train.epochs=2", "--set", "metrics.relearn=false",
        "--set", "unsir.noise_steps=2", "--set", "unsir.noise_batch=8", "--device", "cpu",
        "--quiet"]
ROOT = Path(__file__).resolve().parents[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(capsys, code: int, text: str) -> None:
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and text in err, err


# ----------------------------------------------------------------------------- unwritable
def _unprivileged(command: list[str], home: Path) -> subprocess.CompletedProcess:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot test read-only files")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = dict(os.environ, HOME=str(home), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([*prefix, sys.executable, "-m", "benchmark", *command],
                          capture_output=True, text=True, env=env, cwd=home, timeout=300)


@pytest.fixture
def shared_dir():
    """A folder an unprivileged user can enter but not write (tmp_path's parents are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="unlearn-ro-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_read_only_results_file_fails_before_training(shared_dir, small_results_db) -> None:
    results = copy_db(small_results_db, shared_dir)  # a results file with rows, as run left it
    results.chmod(0o444)
    before = _digest(results)
    cache = Path(tempfile.mkdtemp(dir="/tmp"))
    cache.chmod(0o777)
    try:
        result = _unprivileged(["run", "--methods", "unsir,finetune", "--results", str(results),
                                "--cache-dir", str(cache), *FAST], cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().startswith("error: ") and "not writable" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert _digest(results) == before


def test_read_only_cache_folder_fails_before_training(shared_dir) -> None:
    home = Path(tempfile.mkdtemp(dir="/tmp"))
    home.chmod(0o777)
    try:
        result = _unprivileged(["run", "--methods", "unsir", "--results", str(home / "r.sqlite"),
                                "--cache-dir", str(shared_dir / "cache"), *FAST], home)
        assert result.returncode == 2, result.stderr
        assert "cache folder" in result.stderr and result.stderr.strip().count("\n") == 0
        assert not (home / "r.sqlite").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_cache_dir_that_is_a_file(tmp_path, capsys) -> None:
    (tmp_path / "file").write_text("x")
    code = main(["run", "--methods", "unsir", "--results", str(tmp_path / "r.sqlite"),
                 "--cache-dir", str(tmp_path / "file"), *FAST])
    _one_line(capsys, code, "is a file")
    assert not (tmp_path / "r.sqlite").exists()


def test_a_full_disk_is_refused_up_front(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(paths.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 2**20, 2**20))
    code = main(["run", "--methods", "unsir", "--results", str(tmp_path / "r.sqlite"),
                 "--cache-dir", str(tmp_path / "c"), *FAST])
    _one_line(capsys, code, "not enough free disk")
    assert not (tmp_path / "r.sqlite").exists()


def test_a_disk_that_fills_mid_run_keeps_what_was_stored(tmp_path, capsys, monkeypatch) -> None:
    real = artifacts.atomic_write

    def full_for_unlearned(path: Path, payload: bytes) -> None:
        if path.name.startswith("unlearned-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, payload)

    monkeypatch.setattr(artifacts, "atomic_write", full_for_unlearned)
    results = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--results", str(results), "--save-models",
                 "--cache-dir", str(tmp_path / "c"), *FAST])
    _one_line(capsys, code, "No space left on device")
    with ResultStore(results, read_only=True) as store:
        assert {row["method"] for row in store.rows()} == {"original", "retrain"}


# ----------------------------------------------------------------------------- foreign files
@pytest.fixture
def foreign_db(tmp_path) -> Path:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
        connection.execute("INSERT INTO invoices VALUES (1, 9.5)")
    return path


@pytest.mark.parametrize("command", [["report", "--out", "REPORT"], ["check"]])
def test_report_and_check_leave_empty_and_foreign_files_untouched(
        tmp_path, capsys, foreign_db, command) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    for path, message in ((empty, "it is empty"), (foreign_db, "holds tables invoices")):
        before = _digest(path)
        args = [a.replace("REPORT", str(tmp_path / "report")) for a in command]
        _one_line(capsys, main([*args, "--db", str(path)]), message)
        assert _digest(path) == before
        assert not Path(f"{path}-wal").exists()


def test_run_refuses_someone_elses_database(tmp_path, capsys, foreign_db) -> None:
    before = _digest(foreign_db)
    code = main(["run", "--methods", "unsir", "--results", str(foreign_db),
                 "--cache-dir", str(tmp_path / "c"), *FAST])
    _one_line(capsys, code, "not a results database of this suite")
    assert _digest(foreign_db) == before


# ----------------------------------------------------------------------------- checkpoints
def test_a_checkpoint_that_passes_its_checksum_but_does_not_load_is_rebuilt(tiny_spec) -> None:
    from benchmark.harness.runner import run

    tiny_spec.methods = ["unsir"]
    run(tiny_spec)
    store = ArtifactStore(tiny_spec.checkpoint_dir())
    weights = next(tiny_spec.checkpoint_dir().glob("original-*.pt"))
    key = weights.stem.split("-", 1)[1]
    meta = store.load("original", key)[1]
    store.save("original", key, {"not.a.layer": torch.zeros(3)}, meta)  # valid file, wrong model
    tiny_spec.rerun = True
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert rows["original"]["timings"]["cached"] is False  # trained again, not reused
    assert rows["original"]["metrics"]["test_acc"] > 0.5
    assert "layer" not in str(store.load("original", key)[0].keys())


# ----------------------------------------------------------------------------- concurrency
def _open(path: str, barrier) -> None:
    barrier.wait()
    with ResultStore(path) as store:
        store.rows()


def test_processes_opening_one_fresh_database_at_once_all_succeed(tmp_path) -> None:
    context = multiprocessing.get_context("fork")  # children only open SQLite
    for round_ in range(10):  # the old store failed 2 of 10 such rounds
        path = str(tmp_path / f"fresh-{round_}.sqlite")
        barrier = context.Barrier(6)
        workers = [context.Process(target=_open, args=(path, barrier)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [w.exitcode for w in workers] == [0] * 6, f"round {round_}"


# ----------------------------------------------------------------------------- kill -9
KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from benchmark.core import artifacts
target = Path(sys.argv[1])
artifacts.ArtifactStore(target)  # a writer always opens its store (marking the folder) first
KEY = "0123456789abcdef"  # the store's keys are 16 (models) or 20 (data) hex digits
if sys.argv[2] == "during-write":
    os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # killed before the rename
    artifacts.atomic_write(target / f"original-{KEY}.pt", b"x" * 100000)
else:  # killed between the weights and their JSON
    real = artifacts.atomic_write
    def write(path, payload):
        if path.suffix == ".json":
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, payload)
    artifacts.atomic_write = write
    artifacts.ArtifactStore(target).save("original", KEY, {"w": 1}, {})
"""


@pytest.mark.parametrize("moment", ["during-write", "between-files"])
def test_kill_9_during_a_write_leaves_no_orphan_after_the_next_run(tmp_path, moment) -> None:
    folder = tmp_path / "cache" / "checkpoints"
    folder.mkdir(parents=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(folder), moment], env=env,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in folder.iterdir() if p.name != artifacts.MARKER)
    assert leftovers, "the killed writer left nothing to sweep: the test tests nothing"
    old = time.time() - 3600  # weights without JSON are swept once no writer can still add it
    for path in folder.iterdir():
        os.utime(path, (old, old))
    assert main(["run", "--methods", "unsir", "--results", str(tmp_path / "r.sqlite"),
                 "--cache-dir", str(tmp_path / "cache"), *FAST]) == 0
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.endswith(".tmp")], names
    assert all(Path(n).with_suffix(".json").name in names for n in names if n.endswith(".pt"))
