"""The command line: bad input gives one line and exit status 2, and stored rows survive."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from benchmark.__main__ import main
from benchmark.harness.store import ResultStore

FAST = ["--datasets", "synthetic", "--set", "train.epochs=2", "--set", "metrics.relearn=false",
        "--set", "unsir.noise_steps=2", "--set", "unsir.noise_batch=8", "--device", "cpu"]


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("cli") / "results.sqlite"
    assert main(["run", "--methods", "unsir", "--results", str(results), "--quiet", *FAST]) == 0
    return results


def _digest(path: Path) -> tuple[int, str]:
    with ResultStore(path) as store:
        rows = store.rows()
    return len(rows), hashlib.sha256(repr(sorted(r["row_id"] for r in rows)).encode()).hexdigest()


@pytest.mark.parametrize("arguments, message", [
    (["--methods", "nope"], "unknown method 'nope'; known: bad_teacher, boundary_shrink, finetune, fisher, l1_sparse, neggrad, random_label, retrain, salun, scrub, ssd, unsir"),
    (["--models", "nope"], "unknown model 'nope'"),
    (["--datasets", "nope"], "unknown data set 'nope'"),
    (["--forget", "10"], "out of range"),
    (["--forget", "0,1,2,3,4,5,6,7,8,9"], "cannot forget every class"),
    (["--set", "unsir.retain_per_class=0"], "retain_per_class must be at least 1"),
    (["--set", "unsir.no_such=1"], "unknown setting unsir.no_such"),
    (["--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
    (["--datasets", "cifar10", "--data-root", "/no/such/folder"], "/no/such/folder"),
])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(stored_db, capsys, arguments, message) -> None:
    before = _digest(stored_db)
    code = main(["run", "--methods", "unsir", "--results", str(stored_db), "--quiet", *FAST, *arguments])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and message in err, err
    assert _digest(stored_db) == before


def test_rerun_of_a_stored_run_is_quick_and_keeps_rows(stored_db) -> None:
    before = _digest(stored_db)
    assert main(["run", "--methods", "unsir", "--results", str(stored_db), "--quiet", *FAST]) == 0
    assert _digest(stored_db) == before


def test_list_shows_registered_names(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("unsir", "fisher", "retrain", "finetune", "resnet18", "digits", "cifar20", "default"):
        assert name in out
    assert "needs to work" in out and "alpha < 1/forget fraction" in out  # SSD's requires


def test_results_path_that_is_a_folder(tmp_path, capsys) -> None:
    code = main(["run", "--results", str(tmp_path), "--quiet", *FAST])
    assert code == 2 and "is a folder" in capsys.readouterr().err


def test_datasets_package_clash_is_reported(monkeypatch, capsys) -> None:
    import sys
    import types

    impostor = types.ModuleType("datasets")
    impostor.__file__ = "/site-packages/datasets/__init__.py"
    monkeypatch.setitem(sys.modules, "datasets", impostor)
    assert main(["list"]) == 2
    assert "another package named 'datasets'" in capsys.readouterr().err


def test_save_models_flag_keeps_weights_for_gradcam(tmp_path) -> None:
    results = tmp_path / "results.sqlite"
    assert main(["run", "--methods", "unsir", "--results", str(results), "--quiet",
                 "--save-models", *FAST]) == 0
    with ResultStore(results) as store:
        unsir = next(row for row in store.rows() if row["method"] == "unsir")
    assert Path(unsir["artifacts"]["model_path"]).exists()
    assert unsir["artifacts"]["model_options"] == {"widths": [16, 32, 64]}
