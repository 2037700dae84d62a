"""What a new user meets first (issue 24): untrainable settings refused up front, runs whose
cells all fail exit non-zero, --fail-fast, --dry-run for run and check, one --db flag, and
output that fits a terminal and is never cut or wrapped in a pipe."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import torch
from rich.console import Console

from benchmark.__main__ import main
from benchmark.cli.fit import print_table
from benchmark.cli.main import build_parser
from benchmark.cli.results_table import results_table
from benchmark.core.engine import Engine
from benchmark.core.errors import UserError
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, train_with_recipe
from benchmark.harness.progress import Reporter, pace_remaining
from benchmark.harness.store import ResultStore
from benchmark.harness.trainable import check_steps, subset_notes

FAST = ["--datasets", "synthetic", "--set", "train.epochs=2", "--set", "metrics.relearn=false",
        "--set", "unsir.noise_steps=2", "--set", "unsir.noise_batch=8", "--device", "cpu"]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_too_few_steps_for_one_cycle_are_refused_from_the_arguments(tmp_path, capsys) -> None:
    """100 digits images (10 a class), batch 64, 1 epoch: 2 steps; one-cycle needs 5."""
    db = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--db", str(db), "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache"),
                 "--set", "data.train_per_class=10", "--set", "train.epochs=1"])
    line = _one_error_line(capsys)
    assert code == 2 and "2 optimizer step(s)" in line and "at least 5" in line, line
    assert not db.exists() and not (tmp_path / "cache").exists()  # refused before any work


def test_too_few_steps_on_the_loaded_data_are_refused_before_training(tmp_path, capsys) -> None:
    """600 synthetic images in one batch of 1,000, 2 epochs: 2 steps (known once loaded)."""
    db = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--db", str(db), *FAST,
                 "--set", "train.batch_size=1000", "--quiet"])
    line = _one_error_line(capsys)
    assert code == 2 and "smallcnn/synthetic original" in line and "train.schedule=cosine" in line
    assert not db.exists()


def test_the_training_loop_names_the_problem_instead_of_dividing_by_zero() -> None:
    data = LabelledImages(torch.zeros(8, 1, 4, 4, dtype=torch.uint8), torch.zeros(8, dtype=torch.long))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    recipe = TrainRecipe(epochs=1, batch_size=4, augment=False)
    with pytest.raises(ValueError, match="one-cycle schedule needs at least 5 optimizer steps, not 2"):
        train_with_recipe(model, data, recipe, Engine.for_device("cpu"), Normalizer((0.0,), (1.0,), torch.device("cpu")), 0)
    check_steps(TrainRecipe(epochs=5, batch_size=4), 4, "fine")  # 5 steps: trains
    check_steps(TrainRecipe(epochs=1, batch_size=4, schedule="cosine"), 4, "fine")
    with pytest.raises(UserError, match="is 4 optimizer step"):
        check_steps(TrainRecipe(epochs=4, batch_size=4), 4, "x")


def test_a_retain_subset_as_large_as_the_capped_data_is_noted() -> None:
    from methods.unsir import Unsir, UnsirConfig

    notes = subset_notes({"unsir": Unsir(UnsirConfig(retain_per_class=1000))}, 100)
    assert len(notes) == 1 and "unsir.retain_per_class=1000" in notes[0] and "100" in notes[0]
    assert subset_notes({"unsir": Unsir(UnsirConfig(retain_per_class=50))}, 100) == []


def test_a_run_whose_cells_all_failed_exits_1_with_the_first_error(tmp_path, capsys) -> None:
    db = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir", "--db", str(db), *FAST, "--quiet",
                 "--set", "train.lr=1e30"])  # the original diverges: every cell fails
    line = _one_error_line(capsys)
    assert code == 1 and line.startswith("error: all 3 cells failed") and "diverged" in line, line
    with ResultStore(db) as store:
        assert [r["status"] for r in store.rows()] == ["failed"] * 3  # the rows stay stored


def test_fail_fast_stops_at_a_weak_original(tmp_path, capsys) -> None:
    db = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "unsir,finetune", "--db", str(db), *FAST, "--quiet",
                 "--fail-fast", "--set", "train.lr=1e-9"])  # trains nothing: chance level
    line = _one_error_line(capsys)
    assert code == 1 and "--fail-fast: stopped at" in line and "weak original" in line, line
    with ResultStore(db) as store:
        assert [r["method"] for r in store.rows()] == ["original"]  # stored, nothing after it


def test_dry_run_lists_cells_and_cache_and_writes_nothing(tmp_path, capsys) -> None:
    db, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    base = ["run", "--methods", "unsir", "--db", str(db), "--cache-dir", str(cache), *FAST]
    assert main([*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "original (to measure, model to train); retrain (to measure, model to train); " \
           "unsir (to measure)" in out and "3 cells: 3 to measure, 0 already stored" in out, out
    assert not db.exists() and not (cache / "checkpoints").exists()
    assert "note: unsir: unsir.retain_per_class=1000 is at least the 60 training images" in out
    assert main([*base, "--quiet"]) == 0
    assert main([*base, "--methods", "unsir,finetune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "original (stored, model cached)" in out and "finetune (to measure)" in out
    assert "4 cells: 1 to measure, 3 already stored; 0 reference model(s) to train" in out


def test_check_says_what_it_runs_and_dry_run_runs_nothing(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "run preset 'default'" in out and "results/claims.sqlite" in out and "seeds 0, 1, 2" in out
    assert "smallcnn/digits seed 2:" in out and not (tmp_path / "results").exists()
    help_text = build_parser()._subparsers._group_actions[0].choices["check"].format_help()
    assert "it trains" in " ".join(help_text.split()) and "results/claims.sqlite" in help_text


def test_check_default_results_agree_with_the_claims_module() -> None:
    from benchmark.claims.results import DEFAULT_CLAIMS_RESULTS
    from benchmark.cli import main as cli_main

    assert cli_main.DEFAULT_CLAIMS_RESULTS == DEFAULT_CLAIMS_RESULTS


@pytest.mark.parametrize("command", ["run", "tune", "report", "check", "export"])
def test_one_db_flag_with_results_as_its_alias(command) -> None:
    parser = build_parser()
    for flag in ("--db", "--results"):
        assert parser.parse_args([command, flag, "x.sqlite"]).db == "x.sqlite"


def test_help_has_no_rst_backticks_and_forget_names_every_scenario() -> None:
    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        text = sub.format_help()
        assert "`" not in text, (name, re.findall(r".{20}`.{20}", text))
    run_help = " ".join(parser._subparsers._group_actions[0].choices["run"].format_help().split())
    for scenario in ("random:K", "each", "subclass:NAME", "samples:P%"):
        assert scenario in run_help


def _row(method: str) -> dict:
    return {"model": "resnet9", "dataset": "cifar10", "forget": "0,2", "seed": 0, "method": method,
            "zero_glance": 1, "status": "ok", "warnings": [], "spec": {}, "timings": {},
            "metrics": {"forget_acc_test": 0.0, "retain_acc_test": 0.75, "test_acc": 0.6,
                        "time_s": 12.3, "speedup_vs_retrain": 9.9}}


def test_the_results_table_fits_80_columns_with_whole_names() -> None:
    rows = [_row(m) for m in ("original", "boundary_shrink", "random_label", "unsir")]
    buffer = io.StringIO()
    print_table(results_table(rows), Console(file=buffer, width=80, force_terminal=True,
                                              color_system=None))
    text = buffer.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    for name in ("boundary_shrink", "random_label", "unsir"):
        assert name in text  # not "boundary_shr…"
    assert "resnet9 on cifar10" in text  # shared columns moved to the title
    assert len([line for line in text.splitlines() if "12.30" in line]) == 4  # one line a row


def test_piped_tables_are_printed_whole(monkeypatch, capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "boundary_shrink" in out and "…" not in out
    assert any("Both Image Classification and Generation, ICLR 2024" in line for line in out.splitlines())


def test_piped_progress_lines_are_never_wrapped() -> None:
    buffer = io.StringIO()
    reporter = Reporter.rich(Console(file=buffer, force_terminal=False, width=80))
    reporter.start()
    reporter.set_total(1)
    long = "x " * 80 + "(1.3 min so far)"
    reporter.warn(long)
    reporter.finish()
    assert buffer.getvalue().splitlines() == [f"warning: {long}"]


def test_the_grid_pace_is_known_from_the_first_measured_cell() -> None:
    assert pace_remaining(60.0, 0, 5, 26) is None  # only stored cells yet: no pace
    assert pace_remaining(60.0, 2, 2, 26) == pytest.approx(720.0)  # 30 s a cell, 24 left
    assert pace_remaining(60.0, 2, 7, 26) == pytest.approx(570.0)  # 5 were stored


def test_a_missing_cifar_root_is_one_line_without_a_download(tmp_path, monkeypatch) -> None:
    import socket

    from datasets import DataSource, load_dataset

    def no_network(*args, **kwargs):
        raise AssertionError("tried the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv("UNLEARN_DATA_ROOT", raising=False)
    with pytest.raises(UserError, match="CIFAR-10 needs a data root: pass --data-root") as error:
        load_dataset("cifar10", DataSource(data_root=None, cache_dir=str(tmp_path)))
    assert "\n" not in str(error.value)


def test_readme_installs_and_runs_on_separate_lines() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    install = readme[readme.index("## Install"):readme.index("## Quick start")]
    assert "&& python -m benchmark" not in install
    assert install.index("download.pytorch.org/whl/cpu") < install.index('pip install -e ".[dev]"')


def test_the_readme_method_example_runs_end_to_end(tmp_path) -> None:
    """The "Adding a method" example is complete: it registers, runs and stores a row."""
    import subprocess
    import sys

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.index("```python\n# my_pkg/my_method.py") + len("```python\n")
    snippet = readme[start:readme.index("```", start)]
    script = tmp_path / "drive.py"
    script.write_text(
        "import sys, types\n"
        f"module = types.ModuleType('my_method'); sys.modules['my_method'] = module\n"
        f"exec({snippet!r}, module.__dict__)\n"
        "from benchmark.api import run\n"
        f"frame = run(methods=['mine'], datasets=['synthetic'], device='cpu', "
        f"results={str(tmp_path / 'r.sqlite')!r}, cache_dir={str(tmp_path / 'c')!r}, "
        "settings={'train.epochs': 2, 'metrics.relearn': False})\n"
        "row = frame[frame['method'] == 'mine'].iloc[0]\n"
        "print(row['status'], row['samples_seen'] if 'samples_seen' in row else '')\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "ok", done.stdout


def test_the_metrics_phase_reports_its_stages(tiny_spec) -> None:
    from benchmark.harness.runner import run
    from tests.test_progress import Recording

    tiny_spec.methods = ["unsir"]
    reporter = Recording()
    run(tiny_spec, reporter)
    steps = reporter.steps["smallcnn/synthetic forget 3 seed 0: unsir (metrics)"]
    assert [(d, t) for d, t, _ in steps] == [(i, 4) for i in range(5)]
    assert [note for *_, note in steps] == ["predictions", "distances", "membership inference",
                                            "relearn", "done"]
