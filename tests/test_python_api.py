"""The Python API: docs/PYTHON_API.md's example runs as written; ``export`` writes flat files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from benchmark.__main__ import main
from benchmark.core.errors import UserError

DOC = Path(__file__).resolve().parents[1] / "docs" / "PYTHON_API.md"


def test_the_documented_example_runs(tmp_path, monkeypatch, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/PYTHON_API.md lost its example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
    assert "unsir" in capsys.readouterr().out


def test_bad_input_from_python_is_a_user_error(tmp_path) -> None:
    from benchmark import run

    with pytest.raises(UserError, match="unknown method 'nope'"):
        run(methods=["nope"], results=str(tmp_path / "r.sqlite"))
    with pytest.raises(UserError, match="no results database"):
        __import__("benchmark").load_results(tmp_path / "missing.sqlite")


def test_export_writes_a_flat_csv(tmp_path, capsys) -> None:
    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir", "--datasets", "synthetic", "--device", "cpu",
                 "--results", str(results), "--set", "train.epochs=2",
                 "--set", "metrics.relearn=false", "--quiet"]) == 0
    assert main(["export", "--db", str(results)]) == 0
    frame = pd.read_csv(results.with_suffix(".csv"))
    assert len(frame) == 3 and {"forget_acc_test", "time_s", "hparams.impair_lr"} <= set(frame.columns)
    assert not any(c.startswith("layer.") or c == "layer_distance" for c in frame.columns)
    out = tmp_path / "layers.csv"
    assert main(["export", "--db", str(results), "--layers", "--out", str(out)]) == 0
    assert any(c.startswith("layer.") for c in pd.read_csv(out).columns)


def test_parquet_without_pyarrow_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    results = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "unsir", "--datasets", "synthetic", "--device", "cpu",
                 "--results", str(results), "--set", "train.epochs=1",
                 "--set", "metrics.relearn=false", "--quiet"]) == 0
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert main(["export", "--db", str(results), "--format", "parquet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --format parquet needs pyarrow: pip install pyarrow (or use --format csv)"
